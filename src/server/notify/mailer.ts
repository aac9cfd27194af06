/**
 * Mailer sends the server's notices by e-mail. SmtpMailer hands them to the relay the
 * admin configured (CUMULUS_SMTP_URL) through nodemailer, with deadlines on connecting,
 * the greeting and every socket wait; a failure is a DeliveryError with a code only (the
 * relay's reply can quote addresses).
 */
import { createTransport } from 'nodemailer';
import { DeliveryError } from './retry.ts';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export interface SmtpSettings {
  /** smtp://user:pass@host:587 or smtps://… (a secret: never logged). */
  url: string;
  /** The From address of every notice. */
  from: string;
}

/** mailFailure turns nodemailer's error into a code: `smtp_<reply code>` or its error code. */
function mailFailure(error: unknown): DeliveryError {
  const { responseCode, code } = error as { responseCode?: number; code?: string };
  if (typeof responseCode === 'number') {
    // 5xx replies are final (a refused recipient or sender); 4xx are the relay's "try later".
    return new DeliveryError(`smtp_${responseCode}`, responseCode < 500, { cause: error });
  }
  const permanent = code === 'EAUTH' || code === 'EENVELOPE';
  return new DeliveryError(typeof code === 'string' ? code.toLowerCase() : 'smtp', !permanent, {
    cause: error,
  });
}

export class SmtpMailer implements Mailer {
  readonly #transport: ReturnType<typeof createTransport>;
  readonly #from: string;

  constructor(settings: SmtpSettings, timeoutMs: number) {
    this.#from = settings.from;
    // The URL's own settings win over these (nodemailer merges them last).
    this.#transport = createTransport({
      url: settings.url,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      dnsTimeout: timeoutMs,
    });
  }

  async send(message: MailMessage): Promise<void> {
    try {
      await this.#transport.sendMail({ from: this.#from, ...message });
    } catch (error) {
      throw mailFailure(error);
    }
  }

  close(): void {
    this.#transport.close();
  }
}

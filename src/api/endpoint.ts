/**
 * An Endpoint is one route of the HTTP API written down once: method, path, who may call
 * it and the schemas of what goes in and out. The server registers routes from these
 * definitions and the client calls them through the same objects, so the wire contract
 * cannot drift between the two.
 */
import type { Static, TSchema } from 'typebox';

/** Access says who may call an endpoint: anyone, a signed-in device, or an admin's device. */
export type Access = 'public' | 'session' | 'admin';

export interface Endpoint {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path with `:name` placeholders, each described by `params`. */
  url: string;
  summary: string;
  tag: string;
  access: Access;
  /**
   * backup marks routes an out-of-date agent must not use: a request whose agent version
   * is below the published minimum gets 426 `update_required` instead.
   */
  backup?: boolean;
  params?: TSchema;
  query?: TSchema;
  body?: TSchema;
  response: TSchema;
}

/** endpoint keeps the literal types of a definition so both sides infer its input and output. */
export function endpoint<const E extends Endpoint>(definition: E): E {
  return definition;
}

type Part<E, K extends 'params' | 'query' | 'body'> = E extends { [P in K]: infer S extends TSchema }
  ? { [P in K]: Static<S> }
  : { [P in K]?: undefined };

/** EndpointInput is what a caller sends: the path parameters, query and body an endpoint declares. */
export type EndpointInput<E extends Endpoint> = Part<E, 'params'> & Part<E, 'query'> & Part<E, 'body'>;

/** EndpointOutput is the decoded JSON of a successful response. */
export type EndpointOutput<E extends Endpoint> = Static<E['response']>;

/** pathOf fills an endpoint's `:name` placeholders, each URI-encoded. */
export function pathOf(url: string, params: Record<string, string> | undefined): string {
  return url.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new Error(`missing path parameter ${name} for ${url}`);
    return encodeURIComponent(value);
  });
}

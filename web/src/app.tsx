/**
 * App is the console's frame: the header with its navigation, the signed-in session (in
 * memory only: a reload or a closed tab signs this browser out) and the page the path
 * names. System Status needs no session; every other page asks to sign in first.
 */
import { useEffect, useState } from 'react';
import { logout } from '../../src/api/auth.ts';
import { ApiClient, messageOf } from './api.ts';
import { AccountPage } from './pages/account.tsx';
import { AdminPage } from './pages/admin.tsx';
import { BrowsePage } from './pages/browse.tsx';
import { DevicesPage } from './pages/devices.tsx';
import { SignInPage } from './pages/sign-in.tsx';
import { StatusPage } from './pages/status.tsx';
import { StoragePage } from './pages/storage.tsx';
import { Link, usePath } from './router.tsx';
import { forget, type Session, signOut } from './session.ts';

const publicApi = new ApiClient();

export function App() {
  const path = usePath();
  const [session, setSession] = useState<Session>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!session) return;
    // The key dies with the page, so the session should too: a reload or a closed tab ends it.
    const end = () => void session.api.fetch(logout, {}, { keepalive: true }).catch(() => {});
    addEventListener('pagehide', end);
    return () => removeEventListener('pagehide', end);
  }, [session]);

  const leave = async () => {
    if (!session) return;
    setSession(undefined);
    try {
      await signOut(session);
    } catch (failure) {
      setError(`Signed out here, but the server did not hear it: ${messageOf(failure)}`);
    }
  };

  /** ended drops a session the server has ended already (signed out everywhere from the account page). */
  const ended = () => {
    if (!session) return;
    forget(session);
    setSession(undefined);
  };

  const page = () => {
    if (path === '/system-status') return <StatusPage api={publicApi} />;
    if (!session) {
      return (
        <SignInPage
          onSignedIn={(signedIn) => {
            setError(undefined);
            setSession(signedIn);
          }}
        />
      );
    }
    if (path === '/storage') return <StoragePage session={session} />;
    if (path === '/browse') return <BrowsePage session={session} />;
    if (path === '/account') return <AccountPage session={session} onSessionEnded={ended} />;
    if (path === '/admin' || path.startsWith('/admin/')) return <AdminPage session={session} path={path} />;
    return <DevicesPage session={session} />;
  };

  return (
    <>
      <header className="top">
        <a className="brand" href="/">
          Cumulus
        </a>
        <nav aria-label="Main">
          {session && (
            <Link to="/" current={path === '/'}>
              Devices
            </Link>
          )}
          {session && (
            <Link to="/storage" current={path === '/storage'}>
              Storage
            </Link>
          )}
          {session && (
            <Link to="/browse" current={path === '/browse'}>
              Browse and restore
            </Link>
          )}
          {session && (
            <Link to="/account" current={path === '/account'}>
              Account
            </Link>
          )}
          {session?.role === 'admin' && (
            <Link to="/admin" current={path === '/admin' || path.startsWith('/admin/')}>
              Admin
            </Link>
          )}
          <Link to="/system-status" current={path === '/system-status'}>
            System Status
          </Link>
        </nav>
        {session && (
          <div className="who">
            <span data-testid="signed-in-as">{session.email}</span>
            <button type="button" className="secondary" onClick={leave}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main>
        {error && <p role="alert">{error}</p>}
        {page()}
      </main>
    </>
  );
}

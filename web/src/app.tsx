/** App is the console's frame: the header with its navigation and the page the path names. */
import { ApiClient } from './api.ts';
import { StatusPage } from './pages/status.tsx';
import { Link, usePath } from './router.tsx';

const publicApi = new ApiClient();

export function App() {
  const path = usePath();
  return (
    <>
      <header className="top">
        <a className="brand" href="/">
          Cumulus
        </a>
        <nav aria-label="Main">
          <Link to="/system-status" current={path === '/system-status'}>
            System Status
          </Link>
        </nav>
      </header>
      <main>
        <StatusPage api={publicApi} />
      </main>
    </>
  );
}

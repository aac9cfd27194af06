/**
 * AdminPage is the admin's part of the console, one page per path under /admin: users,
 * plans, releases, incidents, the audit log and server health. Its link shows only to
 * admin accounts; the server checks the role on every admin route regardless.
 */
import { Link } from '../router.tsx';
import type { Session } from '../session.ts';
import { AuditPage } from './admin/audit.tsx';
import { HealthPage } from './admin/health.tsx';
import { IncidentsPage } from './admin/incidents.tsx';
import { PlansPage } from './admin/plans.tsx';
import { ReleasesPage } from './admin/releases.tsx';
import { UsersPage } from './admin/users.tsx';

const SECTIONS = [
  { path: '/admin', label: 'Users', Page: UsersPage },
  { path: '/admin/plans', label: 'Plans', Page: PlansPage },
  { path: '/admin/releases', label: 'Releases', Page: ReleasesPage },
  { path: '/admin/incidents', label: 'Incidents', Page: IncidentsPage },
  { path: '/admin/audit', label: 'Audit log', Page: AuditPage },
  { path: '/admin/health', label: 'Server health', Page: HealthPage },
] as const;

export function AdminPage(props: { session: Session; path: string }) {
  if (props.session.role !== 'admin') {
    return (
      <section aria-labelledby="admin-title">
        <h1 id="admin-title">Admin</h1>
        <p role="alert">This part of the console is for the server's admins.</p>
      </section>
    );
  }
  const section = SECTIONS.find((s) => s.path === props.path) ?? SECTIONS[0];
  const { Page } = section;
  return (
    <section aria-labelledby="admin-title">
      <h1 id="admin-title">Admin: {section.label}</h1>
      <nav aria-label="Admin" className="subnav">
        {SECTIONS.map((s) => (
          <Link key={s.path} to={s.path} current={s === section}>
            {s.label}
          </Link>
        ))}
      </nav>
      <Page session={props.session} />
    </section>
  );
}

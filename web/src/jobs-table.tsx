/** JobsTable lists the server's scheduled maintenance jobs with their last run, outcome and next run. */
import { describeRun, type MaintenanceJob } from '../../src/api/status.ts';
import { formatTime } from './format.ts';

export function JobsTable(props: { jobs: MaintenanceJob[] }) {
  return (
    <table className="maintenance">
      <thead>
        <tr>
          <th scope="col">Job</th>
          <th scope="col">Last run</th>
          <th scope="col">Outcome</th>
          <th scope="col">Next run</th>
        </tr>
      </thead>
      <tbody>
        {props.jobs.map((job) => (
          <tr key={job.name} data-job={job.name}>
            <td>{job.name}</td>
            <td>{job.lastRun ? formatTime(job.lastRun.startedAt) : '—'}</td>
            <td>{describeRun(job)}</td>
            <td>{job.nextRunAt ? formatTime(job.nextRunAt) : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

import { ActivityFeed } from '../components/ActivityFeed';

export default function ActivityPage() {
  return (
    <section className="page" aria-labelledby="activity-title">
      <h1 id="activity-title">Activity</h1>
      <p className="muted">Every catalog change as it happens, with the audit log’s history below.</p>
      <ActivityFeed idPrefix="page" />
    </section>
  );
}

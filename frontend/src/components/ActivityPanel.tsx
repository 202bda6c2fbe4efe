import { Link } from 'wouter';
import { ActivityFeed } from './ActivityFeed';

export default function ActivityPanel({ onClose }: { onClose: () => void }) {
  return (
    <aside className="activity-panel" aria-labelledby="activity-panel-title" data-testid="activity-panel">
      <div className="row">
        <h2 id="activity-panel-title">Activity</h2>
        <Link href="/activity" className="small">full page</Link>
        <button type="button" className="btn btn-small" onClick={onClose}>
          Close<span className="sr-only"> the activity panel</span>
        </button>
      </div>
      <ActivityFeed compact idPrefix="panel" />
    </aside>
  );
}

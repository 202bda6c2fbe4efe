// Imported first by main.tsx: opening a page with a lineage graph starts the layout worker before
// the rest of the app's code is evaluated, so that its start-up overlaps the loading of the view's
// code and data (App does the same on in-app navigation).
import { showsLineage, startLayoutWorker } from './layoutWorker';

if (showsLineage(location.pathname, location.search)) startLayoutWorker();

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { AuthProvider } from './auth';
import { App } from './App';
import { showsLineage, startLayoutWorker } from './lineage/layoutWorker';
import './styles.css';

// Opening a view with a lineage graph: start the layout worker before anything renders, so that its
// start-up overlaps the loading of the view's code and data (App does the same on navigation).
if (showsLineage(location.pathname, location.search)) startLayoutWorker();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AuthProvider>
      <App />
    </AuthProvider>
  </StrictMode>,
);

// Entry point: the head start for the first page (lib/early.ts, first so it
// runs before the rest evaluates), styles, translations, then the app.
import './lib/early.js';
import './index.css';
import './lib/i18n.js';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

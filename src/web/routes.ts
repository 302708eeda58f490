import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HttpError, type RouteTable } from '../daemon/http';
import { dashboardPage } from './page';

/** Files the build puts beside the bundle (dist/web/): the only things the page loads. */
const STATIC: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'uPlot.min.css': 'text/css; charset=utf-8' };

/** dist/web, beside dist/subhost.cjs (bundled, __dirname is dist/). */
export const webDir = () => join(__dirname, 'web');

/** The dashboard at `/` and its files under /static/: GET only, like every daemon route. */
export function addWebRoutes(routes: RouteTable, dir = webDir()): RouteTable {
  const cache = new Map<string, Buffer>();
  const page = dashboardPage();
  const headers = { 'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:", 'x-content-type-options': 'nosniff' };
  routes.add('/', () => ({ type: 'text/html; charset=utf-8', body: page, headers }));
  routes.addPrefix('/static/', (req) => {
    const file = req.url.pathname.slice('/static/'.length);
    const type = STATIC[file];
    if (!type) throw new HttpError(404, `no such file: ${req.url.pathname}`);
    let body = cache.get(file);
    if (!body) {
      try {
        body = readFileSync(join(dir, file));
      } catch {
        throw new HttpError(404, `${req.url.pathname}: not built (npm run build makes dist/web/)`);
      }
      cache.set(file, body);
    }
    return { type, body, headers };
  });
  return routes;
}

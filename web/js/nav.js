// The hash route as data, and changing its query. Its own module so that the
// pages (sweep.js) and the router (app.js, which imports the pages) share it
// without importing each other.

// "#/sweeps/3?tab=trials" -> { path: "/sweeps/3", query: URLSearchParams }.
export function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/sweeps';
  const [path, qs] = raw.split('?');
  return { path, query: new URLSearchParams(qs || '') };
}

// Changes the query of the current route without adding a history entry per
// keystroke or click of a sort header (replace), or as a new entry. The
// router listens for hashchange; replaceState fires none, so one is sent.
export function setQuery(changes, { replace = false } = {}) {
  const { path, query } = parseHash();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === null || v === '') query.delete(k);
    else query.set(k, v);
  }
  const qs = query.toString();
  const hash = '#' + path + (qs ? '?' + qs : '');
  if (replace) {
    history.replaceState(null, '', hash);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    location.hash = hash;
  }
}

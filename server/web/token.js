// Access control (issue #8): with API_TOKENS set on the server, open the dashboard once as
// /#access_token=TOKEN. The fragment never reaches the server; the token is kept for this tab
// (sessionStorage), removed from the address bar, and added to every API URL as ?access_token=,
// because tiles, images and the WebSocket cannot send an Authorization header. The server
// redacts it from its logs. Without a token, URLs are left as they are.

const KEY = 'aistrack.access_token';

function readToken() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('access_token');
  try {
    if (fromHash) sessionStorage.setItem(KEY, fromHash);
    if (fromHash) history.replaceState(null, '', location.pathname + location.search);
    return fromHash || sessionStorage.getItem(KEY) || '';
  } catch {
    return fromHash || ''; // storage disabled: the token lasts until the page is left
  }
}

const accessToken = readToken();

/** `url` with the dashboard's token as access_token= (unchanged when there is none). */
export function withToken(url) {
  if (!accessToken) return url;
  return `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(accessToken)}`;
}

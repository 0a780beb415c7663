/** `*` matches within one segment (no `/`), `**` across segments, `?` one character; the rest is literal. */
function globSource(glob: string, segmentCharacter: string): string {
  let source = '';
  for (let index = 0; index < glob.length; index += 1) {
    const character = glob[index] ?? '';
    if (character === '*' && glob[index + 1] === '*') {
      source += '.*';
      index += 1;
    } else if (character === '*') {
      source += `${segmentCharacter}*`;
    } else if (character === '?') {
      source += segmentCharacter;
    } else {
      source += character.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return source;
}

/** A glob over plain strings (tool names, `matches` conditions): `*` and `**` both match anything. */
export function stringGlob(glob: string): RegExp {
  return new RegExp(`^${globSource(glob, '[\\s\\S]')}$`, 's');
}

export interface UrlGlob {
  regex: RegExp;
  /** The host (with its port) when the glob names one without wildcards: what may reach private space. */
  literalHost: string | undefined;
}

/**
 * A URL glob (`https://api.stripe.com/**`) matched against `scheme://host[:port]/path` of a request
 * (never its query, which may hold a credential). Scheme and host are compared in lower case as the
 * URL parser normalises them; a trailing `/**` also matches the bare origin.
 */
export function urlGlob(glob: string): UrlGlob {
  const match = /^(https?):\/\/([^/]+)(\/.*)?$/i.exec(glob);
  if (match === null) return { regex: /$^/, literalHost: undefined };
  const scheme = (match[1] ?? '').toLowerCase();
  const host = (match[2] ?? '').toLowerCase();
  let path = match[3] ?? '/**';
  let tail = '';
  if (path.endsWith('/**')) {
    path = path.slice(0, -3);
    tail = '(?:/.*)?';
  }
  const hostSource = globSource(host, '[^/:.]');
  const regex = new RegExp(`^${scheme}://${hostSource}${globSource(path, '[^/]')}${tail}$`);
  const literalHost = /[*?]/.test(host) ? undefined : canonicalHost(scheme, host);
  return { regex, literalHost };
}

/** `http://Example.com:80` → `example.com`: the form `URL.host` gives, default ports dropped. */
function canonicalHost(scheme: string, host: string): string | undefined {
  try {
    return new URL(`${scheme}://${host}/`).host;
  } catch {
    return undefined;
  }
}

/** What a URL glob is matched against. */
export function urlResource(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

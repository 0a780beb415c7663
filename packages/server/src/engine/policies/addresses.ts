import { isIP } from 'node:net';

/**
 * Cloud metadata endpoints: refused whatever the policies say (they hand out the host's
 * credentials). Names are refused before any lookup, addresses after it.
 */
export const metadataHostnames: ReadonlySet<string> = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.com',
]);
const metadataAddresses: ReadonlySet<string> = new Set([
  '169.254.169.254',
  '169.254.170.2',
  '169.254.169.253',
  '100.100.100.200',
  '192.0.0.192',
  'fd00:ec2::254',
  'fd00:ec2::23',
]);

export type AddressClass = 'public' | 'private' | 'metadata';

/** [first address, prefix length, what it is] */
const privateIpv4: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

function ipv4Number(address: string): number {
  return address.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

function inIpv4Range(address: string, first: string, prefix: number): boolean {
  const size = 2 ** (32 - prefix);
  return Math.floor(ipv4Number(address) / size) === Math.floor(ipv4Number(first) / size);
}

/** The 8 16-bit groups of an IPv6 address (with an embedded IPv4 tail expanded). */
export function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/^\[|\]$/g, '');
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const value = ipv4Number(v4[1]);
    text = `${text.slice(0, -v4[1].length)}${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] ?? '').split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] ?? '').split(':')) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 && missing !== 0) return undefined;
  if (missing < 0) return undefined;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail].map((group) =>
    Number.parseInt(group, 16),
  );
  return groups.some((group) => !Number.isInteger(group) || group < 0 || group > 0xffff) ? undefined : groups;
}

function embeddedIpv4(groups: readonly number[]): string | undefined {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0] = groups;
  const v4 = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64)
  if (a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && (f === 0xffff || f === 0)) return v4(g, h);
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0) return v4(g, h);
  // 2002:a.b.c.d::/48 (6to4)
  if (a === 0x2002) return v4(b, c);
  return undefined;
}

function classifyIpv4(address: string): AddressClass {
  if (metadataAddresses.has(address)) return 'metadata';
  return privateIpv4.some(([first, prefix]) => inIpv4Range(address, first, prefix)) ? 'private' : 'public';
}

/**
 * Where an address leads: `metadata` (never reachable), `private` (loopback, RFC 1918, link-local,
 * CGNAT, unspecified, multicast, documentation, unique-local; reachable only when an allow rule
 * names the host exactly) or `public`. IPv6 forms that embed an IPv4 address are judged by it.
 */
export function classifyAddress(address: string): AddressClass {
  const family = isIP(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  if (family === 4) return classifyIpv4(address);
  const groups = ipv6Groups(address);
  if (groups === undefined) return 'private';
  const canonical = groups.map((group) => group.toString(16)).join(':');
  for (const known of metadataAddresses) {
    if (
      known.includes(':') &&
      ipv6Groups(known)
        ?.map((group) => group.toString(16))
        .join(':') === canonical
    ) {
      return 'metadata';
    }
  }
  const embedded = embeddedIpv4(groups);
  if (embedded !== undefined) {
    const inner = classifyIpv4(embedded);
    // ::/96 holds :: and ::1 too: compatible forms are never public.
    return inner === 'public' && groups[5] === 0 && groups[0] === 0 ? 'private' : inner;
  }
  const first = groups[0] ?? 0;
  if ((first & 0xfe00) === 0xfc00) return 'private'; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return 'private'; // fe80::/10 link-local
  if ((first & 0xffc0) === 0xfec0) return 'private'; // fec0::/10 site-local (deprecated)
  if ((first & 0xff00) === 0xff00) return 'private'; // multicast
  if (first === 0x2001 && groups[1] === 0x0db8) return 'private'; // documentation
  return 'public';
}

export function isMetadataHostname(hostname: string): boolean {
  return metadataHostnames.has(hostname.toLowerCase().replace(/\.$/, ''));
}

/**
 * Whether a URL names a cloud metadata endpoint outright, by name or address (a name that resolves
 * to one is refused later, by the egress guard).
 */
export function namesMetadataEndpoint(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return isMetadataHostname(host) || (isIP(host) !== 0 && classifyAddress(host) === 'metadata');
}

// What the SVG answers share (badges, sparklines): text escaped as XML, and the headers of an
// image that browsers and CDNs cache a minute and that runs no script.

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
/** Text as SVG character data and attribute values: markup in it shows as text. */
export const escapeXml = (text: string): string => text.replace(/[&<>"']/g, (ch) => ESCAPES[ch] as string);

/**
 * An image, cached a minute by browsers and CDNs; its CSP allows no script at all. Under
 * READ_AUTH it is `private`: a shared cache must not hand what a key read to a caller without one.
 */
const svgHeaders = (cacheControl: string) => ({
  "content-type": "image/svg+xml",
  "cache-control": cacheControl,
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
});
const PUBLIC_SVG = svgHeaders("public, max-age=60");
const PRIVATE_SVG = svgHeaders("private, max-age=60");

/** The headers of an SVG answer, private when reads need a key. */
export const svgHeadersFor = (readAuth: boolean) => (readAuth ? PRIVATE_SVG : PUBLIC_SVG);

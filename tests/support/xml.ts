// A strict check that text is one well-formed XML 1.0 element (what an SVG answer must be):
// only characters XML allows, every tag closed in order, attributes quoted and unique, and
// no bare `<` or `&` in text or attribute values. No DTD, comments or processing
// instructions are expected in what the service writes, so any is refused.

// biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0's Char production names tab, LF and CR.
const XML_CHARS = /^[\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;
const NAME = "[A-Za-z_:][-A-Za-z0-9_:.]*";
const REFERENCE = /&(?:[A-Za-z]+|#\d+|#x[0-9a-fA-F]+);/g;
const TAG = new RegExp(`^<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*(?:"[^"<]*"|'[^'<]*'))*)\\s*(/?)>`);
const ATTRIBUTE = new RegExp(`(${NAME})\\s*=`, "g");

/** Text and attribute values: references only where an `&` is. */
const textProblem = (text: string) => (text.replace(REFERENCE, "").includes("&") ? "a bare &" : undefined);

function tagProblem(match: RegExpExecArray, open: string[]): string | undefined {
  const [, closing, name = "", attributes = "", selfClosing] = match;
  const names = [...attributes.matchAll(ATTRIBUTE)].map((m) => m[1]);
  if (new Set(names).size !== names.length) return `<${name}> repeats an attribute`;
  if (textProblem(attributes)) return `<${name}> has a bare & in an attribute`;
  if (closing) return open.pop() === name ? undefined : `</${name}> closes what was not open`;
  if (!selfClosing) open.push(name);
  return undefined;
}

/** What is wrong with the document, or undefined when it is well-formed. */
export function xmlProblem(document: string): string | undefined {
  if (!XML_CHARS.test(document)) return "a character XML 1.0 cannot carry";
  const body = document.trim();
  const open: string[] = [];
  let rest = body;
  let roots = 0;
  while (rest.length > 0) {
    const lt = rest.indexOf("<");
    const text = lt < 0 ? rest : rest.slice(0, lt);
    if (textProblem(text)) return "a bare & in text";
    if (open.length === 0 && text.trim() !== "") return "text outside the root element";
    if (lt < 0) break;
    rest = rest.slice(lt);
    const match = TAG.exec(rest);
    if (!match) return `not a tag: ${rest.slice(0, 40)}`;
    if (open.length === 0) roots++;
    const problem = tagProblem(match, open);
    if (problem) return problem;
    rest = rest.slice(match[0].length);
  }
  if (open.length > 0) return `<${open[open.length - 1]}> is never closed`;
  return roots === 1 ? undefined : `${roots} root elements`;
}

/**
 * Reads a compose env file the way docker compose does: a line-by-line port of compose-go's dotenv
 * parser (github.com/compose-spec/compose-go, dotenv/parser.go) for the cases an env file written by
 * launchgate can contain, in its two generations:
 * - "v2.0": the parser compose v2.29.x ships: a quoted value ends at the first quote not preceded by a
 *   backslash, and a single-quoted value is taken as it is;
 * - "v2.13": later parsers: a backslash escapes the next character inside quotes, and an escaped quote
 *   loses its backslash (other escaped characters keep it).
 * Double-quoted values then expand escapes (compose-go's expandEscapes) and are interpolated, as are
 * unquoted ones. Interpolation is compose's template: `$$` is a literal `$`; a variable reference
 * throws here, because launchgate never means one.
 */

export type ParserGeneration = "v2.0" | "v2.13";

/** compose-go: isSpace (no line breaks) and unicode.IsSpace (with them). */
const INLINE_SPACE = /^[\t\v\f\r \u0085\u00a0]/;
const ANY_SPACE = /\s/u;
const KEY_CHAR = /[\p{L}\p{N}_.\-[\]]/u;
const ESCAPE_SEQUENCE = /\\(?:[abcfnrtv$"\\]|0\d{0,3})/g;

export function readComposeEnvFile(text: string, generation: ParserGeneration): Map<string, string> {
  const out = new Map<string, string>();
  let rest = text.startsWith("\ufeff") ? text.slice(1) : text;
  for (;;) {
    rest = statementStart(rest);
    if (rest === "") return out;
    const { key, after } = keyName(rest);
    const { value, remaining } = extractValue(after, generation);
    out.set(key, value);
    rest = remaining;
  }
}

/** Skips blank space and `#` comment lines. */
function statementStart(src: string): string {
  let s = src;
  for (;;) {
    let i = 0;
    while (i < s.length && ANY_SPACE.test(s[i] ?? "")) i += 1;
    s = s.slice(i);
    if (!s.startsWith("#")) return s;
    const newline = s.indexOf("\n");
    if (newline === -1) return "";
    s = s.slice(newline);
  }
}

function keyName(src: string): { key: string; after: string } {
  const s = src.replace(/^export\s+/, "");
  for (let i = 0; i < s.length; i += 1) {
    const char = s[i] ?? "";
    if (INLINE_SPACE.test(char)) continue;
    if (char === "=" || char === ":") {
      const key = s.slice(0, i).trimEnd();
      if (key.includes(" ")) throw new Error(`key cannot contain a space: ${JSON.stringify(key)}`);
      return { key, after: trimInlineSpaceStart(s.slice(i + 1)) };
    }
    if (char === "\n")
      throw new Error(`inherited key ${JSON.stringify(s.slice(0, i))}: launchgate never writes one`);
    if (!KEY_CHAR.test(char))
      throw new Error(`unexpected character ${JSON.stringify(char)} in variable name`);
  }
  throw new Error("statement without a value");
}

function trimInlineSpaceStart(s: string): string {
  let i = 0;
  while (i < s.length && INLINE_SPACE.test(s[i] ?? "")) i += 1;
  return s.slice(i);
}

function extractValue(src: string, generation: ParserGeneration): { value: string; remaining: string } {
  const quote = src[0];
  if (quote !== "'" && quote !== '"') {
    const newline = src.indexOf("\n");
    const line = newline === -1 ? src : src.slice(0, newline);
    const uncommented = line.split(" #")[0] ?? "";
    return {
      value: interpolate(uncommented.replace(/\s+$/u, "")),
      remaining: newline === -1 ? "" : src.slice(newline),
    };
  }
  const quoted = generation === "v2.0" ? quotedV20(src, quote) : quotedV213(src, quote);
  if (!quoted) throw new Error(`unterminated quoted value ${src.split("\n")[0]}`);
  const value = quote === '"' ? interpolate(expandEscapes(quoted.raw)) : quoted.raw;
  return { value, remaining: quoted.remaining };
}

/** compose-go up to v2.12: the first quote not preceded by a backslash ends the value. */
function quotedV20(src: string, quote: string): { raw: string; remaining: string } | undefined {
  for (let i = 1; i < src.length; i += 1) {
    if (src[i] !== quote || src[i - 1] === "\\") continue;
    return { raw: src.slice(1, i), remaining: src.slice(i + 1) };
  }
  return undefined;
}

/** compose-go v2.13 (extractQuotedValue): backslash escapes; an escaped quote drops its backslash. */
function quotedV213(src: string, quote: string): { raw: string; remaining: string } | undefined {
  let raw = "";
  let escaped = false;
  for (let i = 1; i < src.length; i += 1) {
    const char = src[i] ?? "";
    if (escaped) {
      escaped = false;
      raw += char === quote ? char : `\\${char}`;
    } else if (char === "\\") {
      escaped = true;
    } else if (char === quote) {
      return { raw, remaining: src.slice(i + 1) };
    } else {
      raw += char;
    }
  }
  return undefined;
}

/** compose-go expandEscapes: Go's rune-literal escapes, `\$` as `$$`, and `\0ddd` octal. */
function expandEscapes(raw: string): string {
  return raw.replace(ESCAPE_SEQUENCE, (match) => {
    if (match === "\\$") return "$$";
    const simple: Record<string, string> = {
      "\\a": "\x07",
      "\\b": "\b",
      "\\c": match, // not a Go escape: UnquoteChar fails and the match stays
      "\\f": "\f",
      "\\n": "\n",
      "\\r": "\r",
      "\\t": "\t",
      "\\v": "\v",
      '\\"': '"',
      "\\\\": "\\",
    };
    if (match in simple) return simple[match] ?? match;
    // `\0ddd` is rewritten to `\ddd`, which Go reads only as exactly three octal digits up to 255.
    const octal = match.replace("\\0", "\\");
    const digits = octal.slice(1);
    if (/^[0-7]{3}$/.test(digits) && Number.parseInt(digits, 8) <= 255) {
      return String.fromCharCode(Number.parseInt(digits, 8));
    }
    return octal;
  });
}

/** compose's template: `$$` is `$`; `$NAME` and `${…}` are variable references. */
function interpolate(value: string): string {
  return value.replace(
    /\$(?:(\$)|([_a-z][_a-z0-9]*)|\{([^}]*)\})/gi,
    (match, escaped: string | undefined) => {
      if (escaped) return "$";
      throw new Error(`compose would interpolate ${match}`);
    },
  );
}

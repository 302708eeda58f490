/**
 * Reads back what bash's `declare -p` prints, so that the config is evaluated by bash itself
 * and never by a home-made bash parser: only bash's own, regular output quoting is parsed here.
 */

export type BashValue = { kind: 'scalar'; value: string } | { kind: 'array'; values: string[] } | { kind: 'assoc'; entries: Record<string, string> };

export interface Declaration {
  name: string;
  flags: string;
  value?: BashValue;
}

const ANSI_SIMPLE: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  peek(n = 1): string {
    return this.text.slice(this.pos, this.pos + n);
  }

  eat(s: string): boolean {
    if (this.text.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }

  expect(s: string): void {
    if (!this.eat(s)) throw new Error(`expected ${JSON.stringify(s)} at offset ${this.pos} of declare output`);
  }

  /** A "..." string: inside, bash escapes only \ " $ and `. */
  doubleQuoted(): string {
    this.expect('"');
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos++];
      if (c === '"') return out;
      if (c === '\\' && '\\"$`'.includes(this.text[this.pos])) out += this.text[this.pos++];
      else out += c;
    }
    throw new Error('unterminated "..." in declare output');
  }

  /** A $'...' string (ANSI-C quoting), used by bash for values with control characters. */
  ansiQuoted(): string {
    this.expect("$'");
    const bytes: number[] = [];
    const pushStr = (s: string) => bytes.push(...Buffer.from(s, 'utf8'));
    while (this.pos < this.text.length) {
      const c = this.text[this.pos++];
      if (c === "'") return Buffer.from(bytes).toString('utf8');
      if (c !== '\\') {
        pushStr(c);
        continue;
      }
      const e = this.text[this.pos++];
      if (e in ANSI_SIMPLE) pushStr(ANSI_SIMPLE[e]);
      else if (/[0-7]/.test(e)) {
        let oct = e;
        while (oct.length < 3 && /[0-7]/.test(this.peek())) oct += this.text[this.pos++];
        bytes.push(parseInt(oct, 8) & 0xff);
      } else if (e === 'x') {
        let hex = '';
        while (hex.length < 2 && /[0-9a-fA-F]/.test(this.peek())) hex += this.text[this.pos++];
        bytes.push(parseInt(hex, 16));
      } else if (e === 'u' || e === 'U') {
        let hex = '';
        while (hex.length < (e === 'u' ? 4 : 8) && /[0-9a-fA-F]/.test(this.peek())) hex += this.text[this.pos++];
        pushStr(String.fromCodePoint(parseInt(hex, 16)));
      } else if (e === 'c') {
        bytes.push(this.text.charCodeAt(this.pos++) & 0x1f);
      } else pushStr(`\\${e}`);
    }
    throw new Error("unterminated $'...' in declare output");
  }

  word(): string {
    if (this.peek() === '"') return this.doubleQuoted();
    if (this.peek(2) === "$'") return this.ansiQuoted();
    const start = this.pos;
    while (this.pos < this.text.length && !/[\s)]/.test(this.text[this.pos])) this.pos++;
    return this.text.slice(start, this.pos);
  }

  /** ([0]="a" [1]="b") for indexed, ([key]="v" ) for associative arrays. */
  compound(): [string, string][] {
    this.expect('(');
    const items: [string, string][] = [];
    for (;;) {
      while (this.eat(' '));
      if (this.eat(')')) return items;
      this.expect('[');
      const key = this.peek() === '"' ? this.doubleQuoted() : this.untilBracket();
      this.expect(']=');
      items.push([key, this.word()]);
    }
  }

  untilBracket(): string {
    const end = this.text.indexOf(']', this.pos);
    if (end < 0) throw new Error('unterminated [key] in declare output');
    const key = this.text.slice(this.pos, end);
    this.pos = end;
    return key;
  }
}

/** Parse the concatenated output of `declare -p VAR...`. */
export function parseDeclarations(text: string): Declaration[] {
  const r = new Reader(text);
  const out: Declaration[] = [];
  while (r.pos < text.length) {
    if (r.eat('\n') || r.eat(' ')) continue;
    r.expect('declare ');
    const flags = r.word().replace(/^-+/, '');
    r.expect(' ');
    const nameMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(r.pos));
    if (!nameMatch) throw new Error(`expected a variable name at offset ${r.pos} of declare output`);
    const name = nameMatch[0];
    r.pos += name.length;
    if (!r.eat('=')) {
      out.push({ name, flags });
      continue;
    }
    if (flags.includes('a') || flags.includes('A')) {
      const items = r.compound();
      out.push({
        name,
        flags,
        value: flags.includes('A')
          ? { kind: 'assoc', entries: Object.fromEntries(items) }
          : { kind: 'array', values: items.sort((a, b) => Number(a[0]) - Number(b[0])).map(([, v]) => v) },
      });
    } else {
      out.push({ name, flags, value: { kind: 'scalar', value: r.word() } });
    }
  }
  return out;
}

/**
 * Wildcard patterns as policies use them: `*` matches any run of characters (including none), `?`
 * exactly one character (one Unicode code point), everything else only itself.
 *
 * Patterns come from configuration but the text they are matched against comes from callers
 * (lock names, claim values), so matching must cost time linear in the text whatever the pattern:
 * a regular expression built from `*-*-*-prod` backtracks, in time that grows like the text's length
 * to the power of the number of stars. Here the
 * star-free segments between stars are placed from left to right, each at its leftmost
 * occurrence, which is never revisited (an earlier placement only leaves more room for the rest).
 * Each occurrence is found in one pass with the bit-parallel Shift-And algorithm, so the whole text
 * is read once, at a cost of one machine word per 32 pattern characters of the segment in hand.
 */
export class Glob {
  readonly #first: Segment;
  /** The segments between stars; null when the pattern has no star and must match exactly. */
  readonly #middle: Segment[] | null;
  readonly #last: Segment;

  constructor(pattern: string) {
    const segments = pattern.split("*").map((text) => new Segment(text));
    this.#first = segments[0]!;
    this.#last = segments.at(-1)!;
    this.#middle = segments.length === 1 ? null : segments.slice(1, -1).filter((segment) => segment.length > 0);
  }

  matches(text: string): boolean {
    const codePoints = toCodePoints(text);
    if (this.#middle === null) return codePoints.length === this.#first.length && this.#first.matchesAt(codePoints, 0);
    const lastStart = codePoints.length - this.#last.length;
    if (lastStart < this.#first.length) return false;
    if (!this.#first.matchesAt(codePoints, 0) || !this.#last.matchesAt(codePoints, lastStart)) return false;
    let position = this.#first.length;
    for (const segment of this.#middle) {
      const end = segment.endOfFirstOccurrence(codePoints, position, lastStart);
      if (end < 0) return false;
      position = end;
    }
    return true;
  }
}

/** A run of pattern characters without `*`; `?` in it stands for any one code point. */
class Segment {
  readonly length: number;
  readonly #codePoints: Array<number | null>;
  readonly #words: number;
  /** Bit i is set where position i is `?`: the mask of a code point that occurs nowhere else. */
  readonly #wildcards: Uint32Array;
  /** Bit i is set where position i is that code point or `?`. */
  readonly #masks = new Map<number, Uint32Array>();

  constructor(text: string) {
    this.#codePoints = toCodePoints(text).map((codePoint) => (codePoint === QUESTION_MARK ? null : codePoint));
    this.length = this.#codePoints.length;
    this.#words = Math.ceil(this.length / 32);
    this.#wildcards = new Uint32Array(this.#words);
    this.#codePoints.forEach((codePoint, index) => {
      if (codePoint === null) setBit(this.#wildcards, index);
    });
    this.#codePoints.forEach((codePoint, index) => {
      if (codePoint === null) return;
      let mask = this.#masks.get(codePoint);
      if (!mask) this.#masks.set(codePoint, (mask = Uint32Array.from(this.#wildcards)));
      setBit(mask, index);
    });
  }

  matchesAt(text: number[], start: number): boolean {
    for (let index = 0; index < this.length; index++) {
      const expected = this.#codePoints[index];
      if (expected !== null && expected !== text[start + index]) return false;
    }
    return true;
  }

  /**
   * Where the leftmost occurrence inside `text[from, to)` ends (exclusive), or -1. Shift-And keeps,
   * for every prefix of the segment, one bit saying whether it ends at the current character.
   */
  endOfFirstOccurrence(text: number[], from: number, to: number): number {
    const state = new Uint32Array(this.#words);
    const lastWord = this.#words - 1;
    const lastBit = 1 << ((this.length - 1) % 32);
    for (let position = from; position < to; position++) {
      const mask = this.#masks.get(text[position]!) ?? this.#wildcards;
      let carry = 1;
      for (let word = 0; word < this.#words; word++) {
        const before = state[word]!;
        state[word] = ((before << 1) | carry) & mask[word]!;
        carry = before >>> 31;
      }
      if ((state[lastWord]! & lastBit) !== 0) return position + 1;
    }
    return -1;
  }
}

const QUESTION_MARK = 0x3f;

function setBit(words: Uint32Array, index: number): void {
  const word = index >>> 5;
  words[word] = words[word]! | (1 << (index % 32));
}

function toCodePoints(text: string): number[] {
  const codePoints: number[] = [];
  for (let index = 0; index < text.length; index++) {
    const codePoint = text.codePointAt(index)!;
    codePoints.push(codePoint);
    if (codePoint > 0xffff) index++;
  }
  return codePoints;
}

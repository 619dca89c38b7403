/**
 * The sample lines of a Prometheus exposition as `name{labels}` → value, exactly as written: a
 * quick look-up for unit tests. The integration tests parse with independent parsers instead.
 */
export function sampleValues(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    values.set(line.slice(0, space), Number(line.slice(space + 1).replace("+Inf", "Infinity")));
  }
  return values;
}

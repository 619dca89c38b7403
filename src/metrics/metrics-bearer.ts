/**
 * Whether an Authorization header carries the metrics bearer secret, compared in time that
 * depends only on the lengths, so the secret cannot be found out a byte at a time.
 */
export function metricsBearerCheck(secret: string): (authorization: string | undefined) => boolean {
  const encoder = new TextEncoder();
  const expected = encoder.encode(`Bearer ${secret}`);
  return (authorization) => {
    const given = encoder.encode(authorization ?? "");
    let difference = given.length ^ expected.length;
    for (let i = 0; i < expected.length; i++) difference |= (given[i] ?? 0) ^ expected[i]!;
    return difference === 0;
  };
}

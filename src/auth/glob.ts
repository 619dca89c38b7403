/** `*` matches any run of characters (including none), `?` exactly one; everything else is literal. */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (const ch of pattern) {
    if (ch === "*") source += "[^]*";
    else if (ch === "?") source += "[^]";
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

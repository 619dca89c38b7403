import { html } from "hono/html";

/**
 * Markup is written with Hono's `html` template: every interpolated string is escaped (`& < > " '`),
 * nested templates are not. Holder labels, subjects, metadata and problem details are caller
 * input and only ever reach a page as interpolated strings. (JSX syntax would need a build step:
 * the Node entry runs its TypeScript as it is, and that has no .tsx.)
 */
export { html };
export type Html = ReturnType<typeof html>;

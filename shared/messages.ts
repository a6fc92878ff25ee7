// Messages the wizard translates: a stable code and the values to put in it, besides the English sentence that the
// engine, the command line, logs and reports keep using. Pure TypeScript (no Node imports): the renderer uses it.

/** Values a message is built from: names, counts, sizes in bytes, lists of names or codes. */
export type MessageParams = Record<string, string | number | string[]>;

/** What the wizard needs to say an engine error in its own language: the code and the values (see README "Error codes"). */
export interface ErrorDetail {
  code: string;
  params: MessageParams;
}

/** What a shared rule finds wrong: a code, its values, and the English sentence. */
export interface RuleIssue<C extends string> {
  code: C;
  params: Record<string, string | number>;
  message: string;
}

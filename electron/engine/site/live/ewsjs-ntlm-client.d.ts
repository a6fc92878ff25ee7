// The part of @ewsjs/ntlm-client (plain JavaScript, no types of its own) that tsmedia uses, as its README documents it.
declare module '@ewsjs/ntlm-client' {
  export interface Type2Message {
    flags: number;
    encoding: 'ascii' | 'ucs2';
    version: 1 | 2;
    challenge: Buffer;
    targetName: string;
  }
  /** "NTLM <base64>" to send in the Authorization header. */
  export function createType1Message(workstation?: string, target?: string): string;
  /** Takes the base64 message or the whole WWW-Authenticate value ("NTLM <base64>"). */
  export function decodeType2Message(str: string): Type2Message;
  export function createType3Message(type2: Type2Message, username: string, password: string, workstation?: string, target?: string): string;
  /** CommonJS: Node's ESM loader gives module.exports as the default export. */
  const ntlm: { createType1Message: typeof createType1Message; decodeType2Message: typeof decodeType2Message; createType3Message: typeof createType3Message };
  export default ntlm;
}

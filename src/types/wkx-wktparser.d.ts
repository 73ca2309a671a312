// wkx's WKT tokenizer (no declarations of its own): src/common/wkt.ts replaces two of its methods.
declare module 'wkx/lib/wktparser.js' {
  interface WktParser {
    value: string;
    position: number;
    skipWhitespaces(): void;
    match(tokens: string[]): string | null;
    isMatch(tokens: string[]): boolean;
  }
  const WktParser: { prototype: WktParser };
  export default WktParser;
}

/**
 * Query tokenisation for OWL-style text towers. @huggingface/tokenizers does neither padding nor
 * truncation, so both happen here: the content is truncated and the end token kept, because the
 * text model pools at the end token.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { GroundstreamError } from '../errors.js';

export interface TokenizedBatch {
  /** [rows, length] row-major, padded with the pad id. */
  ids: BigInt64Array;
  mask: BigInt64Array;
  rows: number;
  length: number;
}

export class TextTokenizer {
  private readonly tok: Tokenizer;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;

  /** `maxLength` counts the start and end tokens (16 for OWL-ViT). */
  constructor(json: object, config: Record<string, unknown>, readonly maxLength: number) {
    try {
      this.tok = new Tokenizer(json, config);
    } catch (e) {
      throw new GroundstreamError('TOKENIZER_FAILED', e instanceof Error ? e.message : String(e), { cause: e });
    }
    const id = (key: string, fallbacks: string[]): number | undefined => {
      const names = [config[key], ...fallbacks].filter((x): x is string => typeof x === 'string');
      for (const n of names) {
        const v = this.tok.token_to_id(n);
        if (v !== undefined) return v;
      }
      return undefined;
    };
    const bos = id('bos_token', ['<|startoftext|>', '[CLS]', '<s>']);
    const eos = id('eos_token', ['<|endoftext|>', '[SEP]', '</s>']);
    if (bos === undefined || eos === undefined) {
      throw new GroundstreamError('TOKENIZER_FAILED', 'tokenizer has no start or end token');
    }
    this.bosId = bos;
    this.eosId = eos;
    this.padId = id('pad_token', []) ?? 0;
  }

  /** Token ids of one query: start, content (truncated to fit), end. */
  encode(text: string): number[] {
    const content = this.tok.encode(text, { add_special_tokens: false }).ids;
    return [this.bosId, ...content.slice(0, this.maxLength - 2), this.eosId];
  }

  /** Encodes and pads `texts` to `length` (default maxLength) into int64 rows, plus `padRows` extra
   * rows that repeat the first query (so they are valid input; their outputs are ignored). */
  encodeBatch(texts: readonly string[], rows = texts.length, length = this.maxLength): TokenizedBatch {
    const ids = new BigInt64Array(rows * length).fill(BigInt(this.padId));
    const mask = new BigInt64Array(rows * length);
    const encoded = texts.map((t) => this.encode(t));
    for (let r = 0; r < rows; r++) {
      const e = encoded[r < encoded.length ? r : 0] ?? [this.bosId, this.eosId];
      for (let i = 0; i < e.length; i++) {
        ids[r * length + i] = BigInt(e[i]!);
        mask[r * length + i] = 1n;
      }
    }
    return { ids, mask, rows, length };
  }
}

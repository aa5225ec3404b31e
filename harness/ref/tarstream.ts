// Feeds a Node byte stream into tar-stream's extractor and yields its entries one at a time.
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { extract, type Extract } from 'tar-stream';

/** One archive entry: its header and a readable body. */
export type Source = Extract extends AsyncIterable<infer S> ? S : never;

/**
 * Entries of the tar read from `input`; `tap` sees every input byte (hashing, copying), including
 * the trailing zero blocks after the last entry. Each entry's body must be consumed (or resumed)
 * before the next one is yielded.
 */
export async function* tarEntries(input: Readable, tap?: (chunk: Buffer) => void | Promise<void>): AsyncGenerator<Source> {
  const ex = extract();
  // Stops a feeder waiting for 'drain' when the consumer leaves early (a refused entry): a destroyed
  // extractor never drains, and that wait would keep the generator's finally from ever ending.
  const stop = new AbortController();
  let feedError: unknown;
  const feeding = (async () => {
    try {
      for await (const chunk of input) {
        const buf = chunk as Buffer;
        if (tap) await tap(buf);
        if (!ex.write(buf)) await once(ex as unknown as NodeJS.EventEmitter, 'drain', { signal: stop.signal });
      }
      // streamx's end() takes an optional last chunk; its typings make it mandatory.
      ex.end(undefined);
    } catch (err) {
      feedError = err;
      ex.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  })();
  try {
    for await (const entry of ex) yield entry;
    await feeding;
    if (feedError) throw feedError;
  } finally {
    stop.abort();
    input.destroy();
    ex.destroy();
    await feeding;
  }
}

/** Reads an entry body completely, refusing bodies larger than `cap` bytes. */
export async function readBody(entry: Source, cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry) {
    size += (chunk as Buffer).length;
    if (size > cap) throw new Error(`entry ${entry.header.name} is larger than ${cap} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Skips an entry body. */
export async function drain(entry: Source): Promise<void> {
  for await (const _ of entry) {
    // discard
  }
}

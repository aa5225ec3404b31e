// What a target is doing while it starts (a guest build, a booting VM) and how to undo it, so a
// signal that arrives before the target is ready still leaves nothing behind.
const undos = new Set<() => Promise<void>>();

/** Registers an undo for work in progress; call the returned function once the work is done. */
export function whileStarting(undo: () => Promise<void>): () => void {
  undos.add(undo);
  return () => void undos.delete(undo);
}

/** Undoes everything still starting. */
export async function abortStarting(): Promise<void> {
  const all = [...undos];
  undos.clear();
  await Promise.allSettled(all.map((u) => u()));
}

export * from './target.js';
export * from './host-target.js';
import { HostTarget } from './host-target.js';
import type { Target, TargetKind } from './target.js';

export function openTarget(kind: TargetKind): Target {
  switch (kind) {
    case 'host':
      return new HostTarget();
  }
}

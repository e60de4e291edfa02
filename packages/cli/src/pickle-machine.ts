import { ValueError } from '@residual/core';

/** A Python dict (or OrderedDict) read from a pickle: keys are strings or numbers, insertion order kept. */
export class PyDict {
  readonly items = new Map<unknown, unknown>();
}

/** A module-level name (`GLOBAL module name`) that the hooks accepted; it is only a name, never code. */
export interface PyGlobal {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
}

/**
 * What a restricted unpickler lets through. `findGlobal` decides which names may appear at all
 * (throw to refuse one), `reduce` builds a value from an accepted name and its arguments, and
 * `persistentLoad` resolves a BINPERSID id (torch's storages).
 */
export interface UnpicklerHooks {
  findGlobal(module: string, name: string): PyGlobal;
  reduce(callable: PyGlobal, args: readonly unknown[]): unknown;
  persistentLoad(pid: unknown): unknown;
}

/**
 * Runs a pickle (protocols 2–5) as data only: no Python name is ever resolved to code. It knows
 * the opcodes torch.save writes for state dicts and checkpoints — PROTO, FRAME, EMPTY_DICT/LIST/TUPLE,
 * MARK, TUPLE1..3, TUPLE, LIST, DICT, APPEND(S), SETITEM(S), (SHORT_)BINUNICODE, (SHORT_)BINBYTES,
 * BININT/BININT1/BININT2/LONG1, BINFLOAT, NONE/NEWTRUE/NEWFALSE, (LONG_)BINPUT/GET, MEMOIZE,
 * GLOBAL/STACK_GLOBAL (through `hooks.findGlobal`), REDUCE (through `hooks.reduce`), BINPERSID,
 * BUILD (attributes of a dict, such as a state dict's `_metadata`, are dropped), POP, DUP, STOP.
 * Any other opcode, a truncated stream or an inconsistent stack is a ValueError naming `where`
 * and the byte offset. Tuples and lists both become frozen/plain arrays, dicts {@link PyDict}.
 */
export function unpickle(bytes: Uint8Array, hooks: UnpicklerHooks, where: string): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = 0;
  let opAt = 0;

  const fail = (message: string): never => {
    throw new ValueError(`${where}: ${message} (pickle byte ${opAt})`);
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length) fail('the pickle ends early (truncated or corrupt file)');
    const at = pos;
    pos += n;
    return at;
  };
  const text = (n: number): string => {
    const at = need(n);
    try {
      return utf8.decode(bytes.subarray(at, at + n));
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('a GLOBAL name has no end of line');
    const value = text(end - pos);
    need(1);
    return value;
  };
  const pop = (): unknown => {
    if (stack.length <= (marks.length > 0 ? marks[marks.length - 1] : 0)) fail('pops an empty stack');
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) return fail('uses a MARK that was never set');
    return stack.splice(m);
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('reads an empty stack');
    return stack[stack.length - 1];
  };
  const dictAt = (value: unknown): PyDict => (value instanceof PyDict ? value : fail('sets an item on something that is not a dict'));
  const listAt = (value: unknown): unknown[] =>
    Array.isArray(value) && !Object.isFrozen(value) ? value : fail('appends to something that is not a list');
  const global = (module: string, name: string): PyGlobal => hooks.findGlobal(module, name);

  for (;;) {
    opAt = pos;
    const op = bytes[need(1)];
    switch (op) {
      case 0x80: { // PROTO
        const protocol = bytes[need(1)];
        if (protocol < 2 || protocol > 5) fail(`uses pickle protocol ${protocol}; 2 to 5 are read`);
        break;
      }
      case 0x95: // FRAME: a length hint only
        need(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) fail(`stops with ${stack.length} values on the stack, expected 1`);
        return stack[0];
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(Object.freeze([]));
        break;
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x74: // TUPLE
        stack.push(Object.freeze(popMark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: { // TUPLE1..3
        const n = op - 0x84;
        const items: unknown[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push(Object.freeze(items));
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: { // DICT
        const d = new PyDict();
        const items = popMark();
        for (let i = 0; i + 1 < items.length; i += 2) d.items.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        listAt(top()).push(value);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        listAt(top()).push(...items);
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        dictAt(top()).items.set(key, value);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) fail('SETITEMS has an odd number of values');
        const d = dictAt(top());
        for (let i = 0; i < items.length; i += 2) d.items.set(items[i], items[i + 1]);
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(text(view.getUint32(need(4), true)));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(bytes[need(1)]));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(Number(view.getBigUint64(need(8), true))));
        break;
      case 0x42: { // BINBYTES
        const n = view.getUint32(need(4), true);
        const at = need(n);
        stack.push(bytes.slice(at, at + n));
        break;
      }
      case 0x43: { // SHORT_BINBYTES
        const n = bytes[need(1)];
        const at = need(n);
        stack.push(bytes.slice(at, at + n));
        break;
      }
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(bytes[need(1)]);
        break;
      case 0x4d: // BININT2
        stack.push(view.getUint16(need(2), true));
        break;
      case 0x8a: { // LONG1: little-endian two's complement of n bytes
        const n = bytes[need(1)];
        if (n > 8) fail(`holds a ${n}-byte integer; at most 8 bytes are read`);
        const at = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
        if (n > 0 && bytes[at + n - 1] >= 0x80) v -= 1n << BigInt(8 * n);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) fail(`holds the integer ${v}, beyond 2^53`);
        stack.push(Number(v));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x71: // BINPUT
        memo.set(bytes[need(1)], top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(view.getUint32(need(4), true), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const index = op === 0x68 ? bytes[need(1)] : view.getUint32(need(4), true);
        if (!memo.has(index)) fail(`reads memo ${index}, which was never stored`);
        stack.push(memo.get(index));
        break;
      }
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!isGlobal(callable)) fail('REDUCE calls something that is not a named global');
        if (!Array.isArray(args)) fail('REDUCE needs a tuple of arguments');
        stack.push(hooks.reduce(callable as PyGlobal, args as unknown[]));
        break;
      }
      case 0x62: { // BUILD: object attributes; only a dict's (OrderedDict `_metadata`) are accepted, and dropped
        pop();
        if (!(top() instanceof PyDict)) fail('BUILD sets the state of something that is not a dict');
        break;
      }
      case 0x30: // POP
        pop();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        fail(`uses the opcode 0x${op.toString(16).padStart(2, '0')}, which a state dict never needs`);
    }
  }
}

/** True for a {@link PyGlobal}. */
export function isGlobal(value: unknown): value is PyGlobal {
  return typeof value === 'object' && value !== null && (value as PyGlobal).kind === 'global';
}

/**
 * What an action returns (`Value`) and the workflows it can start after its turn:
 * `Broadcast`, `Effect`, `Forward`, `Pipe`, in the Spawn Node SDK's shapes.
 */
import type { MessageType, PayloadRef } from "./protobuf.js";

/** A message (made with `Type.create`), a `PayloadRef`, or plain fields of a declared type;
 * as an effect's, a broadcast's or an invocation's payload, any other value is sent as JSON. */
export type Payload = PayloadRef | object;

/** Publish `payload` to every actor subscribed to `channel`. */
export interface Broadcast {
  channel: string;
  payload?: Payload;
}

/** Invoke `action` on `actorName` asynchronously once this turn's state is applied.
 * `ref` spawns `actorName` from that unnamed actor first; `scheduledTo` is a `Date`, or a
 * number of milliseconds from the end of this turn (a delay, as in the Node SDK). */
export interface Effect {
  actorName: string;
  action: string;
  payload?: Payload;
  ref?: string;
  scheduledTo?: Date | number;
  metadata?: Record<string, string>;
}

/** Invoke `action` on `actorName` with this turn's reply; the caller gets its reply. */
export interface Pipe {
  actorName: string;
  action: string;
  ref?: string;
}

/** Invoke `action` on `actorName` with this turn's input; the caller gets its reply. */
export interface Forward {
  actorName: string;
  action: string;
  ref?: string;
}

/**
 * The outcome of a turn, built fluently, as in the Node SDK:
 * `Value.of<State, Reply>().state(s).response(Reply, {text})`. Without `state` the actor
 * keeps its state; without `response` (or with `noReply()`) nothing is replied.
 */
export class Value<S extends object = object, R extends object = object> {
  /** @internal */ _state?: S;
  /** @internal */ _response?: Payload;
  /** @internal */ _responseType?: MessageType;
  /** @internal */ _reply = true;
  /** @internal */ _checkpoint = false;
  /** @internal */ _broadcast?: Broadcast;
  /** @internal */ _effects: Effect[] = [];
  /** @internal */ _routing?: { pipe: Pipe } | { forward: Forward };
  /** @internal */ _tags?: Record<string, string>;

  /** A new, empty outcome. */
  static of<S extends object = object, R extends object = object>(): Value<S, R> {
    return new Value<S, R>();
  }

  /** The new state (the actor's `stateType`, or a message made with `create`). */
  state(state: S): this {
    this._state = state;
    return this;
  }

  /** The reply: `response(Type, fields)`, or a message, a `PayloadRef`, or fields of the
   * action's `responseType`. */
  response(type: MessageType<R>, instance: Partial<R>): this;
  response(response: R | PayloadRef<R>): this;
  response(typeOrResponse: MessageType<R> | R | PayloadRef<R>, instance?: Partial<R>): this {
    if (instance !== undefined) {
      const type = typeOrResponse as MessageType<R>;
      this._response = type.create(instance);
      this._responseType = type;
    } else {
      this._response = typeOrResponse as Payload;
      this._responseType = undefined;
    }
    this._reply = true;
    return this;
  }

  /** Reply the response (the default when there is one). */
  reply(): this {
    this._reply = true;
    return this;
  }

  /** Reply nothing, whatever the response. */
  noReply(): this {
    this._reply = false;
    return this;
  }

  /** Persist the state before the reply leaves (standalone; the sidecar saves it at the
   * next snapshot). */
  checkpoint(checkpoint = true): this {
    this._checkpoint = checkpoint;
    return this;
  }

  broadcast(broadcast: Broadcast): this {
    this._broadcast = broadcast;
    return this;
  }

  /** Side effects run after this turn (replacing earlier ones, as in the Node SDK). */
  effects(effects: Effect[]): this {
    this._effects = [...effects];
    return this;
  }

  /** One more side effect. */
  effect(effect: Effect): this {
    this._effects.push(effect);
    return this;
  }

  pipe(pipe: Pipe): this {
    this._routing = { pipe };
    return this;
  }

  forward(forward: Forward): this {
    this._routing = { forward };
    return this;
  }

  /** Replace the actor's tags. */
  tags(tags: Record<string, string>): this {
    this._tags = { ...tags };
    return this;
  }
}

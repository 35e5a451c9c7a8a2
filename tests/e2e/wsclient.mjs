// wsclient: the WebSocket client of chatdesk's end-to-end tests (chatfix.mjs,
// deskfix.mjs, cluster.test.mjs each make it theirs with a subclass whose
// static open() knows where their daemon is). It keeps every frame (frames;
// a frame that is not JSON becomes { type: '<not json>', text, isBinary }),
// optionally stamped as it comes (stamp(f)), and waits, bounded in time, for
// a frame: wait() for the first of all frames (from an index on) that a
// predicate accepts, next() for the first not yet taken by next(), which it
// takes. A wait fails at once when the connection closes. waiters are
// functions called with no argument after each frame and on close (tests
// may add their own). No sleeps: every wait is for a frame.
import WebSocket from 'ws';

export class FrameClient {
  // ws: a socket (open or opening); wait: the default bound of a wait (ms);
  // stamp(f): called with each frame before it is kept.
  constructor(ws, { wait = 20000, stamp } = {}) {
    this.ws = ws;
    this.waitMs = wait;
    this.frames = []; // every frame received, in order
    this.unread = []; // not yet taken by next()
    this.waiters = [];
    this.pings = 0;
    ws.on('message', (data, isBinary) => {
      const text = data.toString('utf8');
      let f;
      try { f = JSON.parse(text); } catch { f = { type: '<not json>', text, isBinary }; }
      if (stamp) stamp(f);
      this.frames.push(f);
      this.unread.push(f);
      this.received(f);
      this.wake();
    });
    ws.on('close', () => { this.closed = true; this.wake(); });
  }

  // For subclasses: sees each frame once it is kept.
  received() {}

  wake() { for (const w of [...this.waiters]) w(); }

  // A client of this class on url, resolved once open and then added to
  // clients (a Set, if given; close() takes it out); options go to ws's
  // WebSocket (handshakeTimeout default: wait).
  static connect(url, { protocols, options = {}, clients, wait = 20000, stamp } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { handshakeTimeout: wait, ...options });
      const c = new this(ws, { wait, stamp });
      c.clients = clients;
      ws.once('open', () => { clients?.add(c); resolve(c); });
      ws.once('error', reject);
    });
  }

  // Resolves to find()'s first answer other than undefined, asked now and
  // after each frame; rejects on close or after ms.
  until(find, what, ms) {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      const got = () => JSON.stringify(this.frames).slice(-2000);
      const check = () => {
        const f = find();
        if (f !== undefined) {
          done();
          resolve(f);
        } else if (this.closed) {
          done();
          reject(new Error(`connection closed waiting for ${what}; got ${got()}`));
        }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`no ${what} within ${ms} ms; got ${got()}`)); }, ms);
      this.waiters.push(check);
      check();
    });
  }

  // The first frame pred accepts among frames[from...], seen already or coming.
  wait(pred, what = 'matching frame', { from = 0, ms = this.waitMs } = {}) {
    return this.until(() => {
      for (let i = from; i < this.frames.length; i++) if (pred(this.frames[i])) return this.frames[i];
      return undefined;
    }, what, ms);
  }

  // The first unread frame matching want (a type or a predicate), taken out
  // of unread.
  next(want, ms = this.waitMs, what = typeof want === 'string' ? `${want} frame` : 'matching frame') {
    const match = typeof want === 'function' ? want : (f) => f.type === want;
    return this.until(() => {
      const i = this.unread.findIndex(match);
      return i < 0 ? undefined : this.unread.splice(i, 1)[0];
    }, what, ms);
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj));
  }

  sendRaw(buf, binary) {
    this.ws.send(buf, { binary });
  }

  // Sends obj with an id (its own, else a fresh one) and waits for its
  // direct answer (the next unread frame with that id).
  request(obj, ms) {
    const id = obj.id || `r${Math.random().toString(36).slice(2)}`;
    this.send({ ...obj, id });
    return this.next((f) => f.id === id && f.type !== 'message', ms, `answer to ${obj.type}`);
  }

  // A ping/pong round trip: every answer to earlier frames has arrived.
  async sync() {
    const id = `sync-${++this.pings}`;
    this.send({ type: 'ping', id });
    await this.next((f) => f.type === 'pong' && f.id === id, this.waitMs, 'pong');
  }

  // Closes the socket; resolves once it is closed.
  close() {
    this.clients?.delete(this);
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', resolve);
      this.ws.close();
    });
  }
}

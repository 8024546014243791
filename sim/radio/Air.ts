// The in-process medium: who hears whose adverts, which initiator connects to which advertiser, and
// which two controllers share a link. A hub runs one Air and attaches remote controllers to it, so
// the same rules hold within a process and across processes.
import { inRange, rssiAt, seededRandom } from './Faults.ts';
import type {
  AdvState,
  ConnParams,
  DownMsg,
  Medium,
  MediumDevice,
  MediumPort,
  RadioInfo,
  Timers,
  UpMsg,
} from './Medium.ts';
import { realTimers } from './Medium.ts';
import { STATUS } from './Hci.ts';

interface ConnectRequest {
  peer: string;
  peerType: 0 | 1;
  own: string;
  ownType: 0 | 1;
  params: ConnParams;
}

interface Node {
  id: number;
  device: MediumDevice;
  info: RadioInfo;
  adv: AdvState | null;
  advTimer: unknown;
  scan: { active: boolean; filterDuplicates: boolean } | null;
  pending: ConnectRequest | null;
  links: Set<number>;
  inbox: DownMsg[];
  draining: boolean;
  gone: boolean;
}

interface Link {
  id: number;
  central: Node;
  peripheral: Node;
  params: ConnParams;
}

export interface AirDeviceStatus {
  address: string;
  name: string;
  pid: number;
  advertising: boolean;
  scanning: boolean;
  initiating: boolean;
  links: number;
}

export interface AirOptions {
  timers?: Timers;
  random?: () => number;
}

const CONNECTABLE = new Set([0x00, 0x01, 0x04]);
const SCANNABLE = new Set([0x00, 0x02]);

export class Air implements Medium {
  readonly up = true;
  private readonly nodes = new Map<number, Node>();
  private readonly linkTable = new Map<number, Link>();
  private nextNode = 1;
  private nextLink = 1;
  private readonly timers: Timers;
  private readonly random: () => number;

  constructor(opts: AirOptions = {}) {
    this.timers = opts.timers ?? realTimers;
    this.random = opts.random ?? seededRandom((Math.random() * 2 ** 32) >>> 0);
  }

  attach(device: MediumDevice, info: RadioInfo): MediumPort {
    const node: Node = {
      id: this.nextNode++,
      device,
      info,
      adv: null,
      advTimer: null,
      scan: null,
      pending: null,
      links: new Set(),
      inbox: [],
      draining: false,
      gone: false,
    };
    this.nodes.set(node.id, node);
    return {
      send: (msg) => {
        if (!node.gone) this.handle(node, msg);
      },
      detach: () => this.detach(node),
    };
  }

  async close(): Promise<void> {
    for (const node of [...this.nodes.values()]) this.detach(node);
    return Promise.resolve();
  }

  status(): AirDeviceStatus[] {
    return [...this.nodes.values()].map((n) => ({
      address: n.info.address,
      name: n.info.name,
      pid: n.info.pid,
      advertising: n.adv !== null,
      scanning: n.scan !== null,
      initiating: n.pending !== null,
      links: n.links.size,
    }));
  }

  get linkCount(): number {
    return this.linkTable.size;
  }

  private handle(node: Node, msg: UpMsg): void {
    switch (msg.t) {
      case 'info':
        node.info = msg.info;
        this.reevaluate();
        return;
      case 'adv':
        this.setAdv(node, msg.adv);
        return;
      case 'scan':
        node.scan = msg.scan;
        if (msg.scan) for (const adv of this.nodes.values()) if (adv.adv) this.offerAdvert(adv, node, true);
        this.updateAdvTimers();
        return;
      case 'connect':
        if (node.pending) return;
        node.pending = {
          peer: msg.peer,
          peerType: msg.peerType,
          own: msg.own,
          ownType: msg.ownType,
          params: msg.params,
        };
        this.tryConnect(node);
        return;
      case 'cancel':
        if (!node.pending) return;
        node.pending = null;
        this.send(node, { t: 'connectFailed', status: STATUS.UNKNOWN_CONNECTION_ID });
        return;
      case 'acl': {
        const link = this.linkOf(node, msg.link);
        if (!link) return;
        this.send(this.other(link, node), { t: 'acl', link: link.id, start: msg.start, data: msg.data });
        return;
      }
      case 'disconnect': {
        const link = this.linkOf(node, msg.link);
        if (!link) return;
        // The side that asked to disconnect hears 0x16; a lost link is 'reason' on both sides.
        const local = new Map<Node, number>();
        if (!msg.lost) local.set(node, STATUS.LOCAL_HOST_TERMINATED);
        this.dropLink(link, local, msg.reason);
        return;
      }
      case 'enc': {
        const link = this.linkOf(node, msg.link);
        if (!link || link.central !== node) return;
        this.send(link.peripheral, {
          t: 'encRequest',
          link: link.id,
          rand: msg.rand,
          ediv: msg.ediv,
          ltk: msg.ltk,
        });
        return;
      }
      case 'encReply': {
        const link = this.linkOf(node, msg.link);
        if (!link || link.peripheral !== node) return;
        if (msg.status === STATUS.MIC_FAILURE) {
          this.dropLink(link, new Map(), STATUS.MIC_FAILURE);
        } else if (msg.status === STATUS.SUCCESS) {
          for (const n of [link.central, link.peripheral])
            this.send(n, { t: 'encChanged', link: link.id, status: 0, enabled: true });
        } else {
          this.send(link.central, { t: 'encChanged', link: link.id, status: msg.status, enabled: false });
        }
        return;
      }
      case 'connUpdate': {
        const link = this.linkOf(node, msg.link);
        if (!link || link.central !== node) return;
        link.params = msg.params;
        for (const n of [link.central, link.peripheral])
          this.send(n, { t: 'connUpdated', link: link.id, params: msg.params });
        return;
      }
    }
  }

  private linkOf(node: Node, id: number): Link | undefined {
    const link = this.linkTable.get(id);
    return link && (link.central === node || link.peripheral === node) ? link : undefined;
  }

  private other(link: Link, node: Node): Node {
    return link.central === node ? link.peripheral : link.central;
  }

  /** Ends a link; `local` gives the reason each initiating side sees, everyone else sees `reason`. */
  private dropLink(link: Link, local: Map<Node, number>, reason: number): void {
    if (!this.linkTable.delete(link.id)) return;
    for (const n of [link.central, link.peripheral]) {
      n.links.delete(link.id);
      this.send(n, { t: 'disconnected', link: link.id, reason: local.get(n) ?? reason });
    }
  }

  private detach(node: Node): void {
    if (node.gone) return;
    node.gone = true;
    this.timers.clearTimeout(node.advTimer);
    for (const id of [...node.links]) {
      const link = this.linkTable.get(id);
      if (link) this.dropLink(link, new Map(), STATUS.CONNECTION_TIMEOUT);
    }
    this.nodes.delete(node.id);
    this.updateAdvTimers();
  }

  private setAdv(node: Node, adv: AdvState | null): void {
    node.adv = adv;
    this.timers.clearTimeout(node.advTimer);
    node.advTimer = null;
    if (!adv) return;
    if (!node.info.advertisingInterval) {
      for (const scanner of this.nodes.values()) if (scanner.scan) this.offerAdvert(node, scanner, true);
      for (const n of this.nodes.values()) if (n.pending) this.tryConnect(n);
    }
    this.updateAdvTimers();
  }

  /**
   * One advertising event per interval while somebody needs it: always when the interval is modelled,
   * otherwise only for scanners that asked for duplicates (they expect repeated reports).
   */
  private updateAdvTimers(): void {
    const dupScanners = [...this.nodes.values()].some((n) => n.scan && !n.scan.filterDuplicates);
    for (const node of this.nodes.values()) {
      const want = node.adv !== null && (node.info.advertisingInterval || dupScanners);
      if (want && node.advTimer === null) {
        const first = node.info.advertisingInterval
          ? this.random() * (node.adv?.intervalMs ?? 100)
          : undefined;
        this.scheduleAdvEvent(node, first);
      } else if (!want && node.advTimer !== null) {
        this.timers.clearTimeout(node.advTimer);
        node.advTimer = null;
      }
    }
  }

  private scheduleAdvEvent(node: Node, delay?: number): void {
    const adv = node.adv;
    if (!adv) return;
    // advDelay: a pseudo-random 0..10 ms added to every advertising event (Vol 6, Part B, 4.4.2.2).
    const ms = delay ?? adv.intervalMs + this.random() * 10;
    node.advTimer = this.timers.setTimeout(() => {
      node.advTimer = null;
      if (node.gone || node.adv !== adv) return;
      const modelled = node.info.advertisingInterval;
      for (const scanner of this.nodes.values())
        if (scanner.scan && (modelled || !scanner.scan.filterDuplicates))
          this.offerAdvert(node, scanner, false);
      if (modelled) for (const n of this.nodes.values()) if (n.pending) this.tryConnect(n, node);
      if (node.adv === adv) this.scheduleAdvEvent(node);
      else this.updateAdvTimers();
    }, ms);
  }

  private offerAdvert(adv: Node, scanner: Node, immediate: boolean): void {
    const a = adv.adv;
    if (!a || !scanner.scan || adv === scanner) return;
    if (immediate && adv.info.advertisingInterval) return; // it will be heard at its next advertising event
    if (!inRange(adv.info, scanner.info)) return;
    const rssi = rssiAt(adv.info, scanner.info);
    const evt = a.advType === 0x04 ? 0x01 : a.advType;
    this.send(scanner, {
      t: 'report',
      address: a.address,
      addressType: a.addressType,
      evt,
      data: a.data,
      rssi,
    });
    if (scanner.scan.active && SCANNABLE.has(a.advType)) {
      this.send(scanner, {
        t: 'report',
        address: a.address,
        addressType: a.addressType,
        evt: 0x04,
        data: a.scanRsp,
        rssi,
      });
    }
  }

  /** `ticking`: the advertiser whose modelled advertising event is happening now. */
  private tryConnect(initiator: Node, ticking: Node | null = null): void {
    const req = initiator.pending;
    if (!req) return;
    for (const target of this.nodes.values()) {
      const a = target.adv;
      if (target === initiator || !a || a.address !== req.peer || a.addressType !== req.peerType) continue;
      if (!CONNECTABLE.has(a.advType)) continue;
      if (!inRange(target.info, initiator.info) || !inRange(initiator.info, target.info)) continue;
      if (target.info.advertisingInterval && target !== ticking) return; // wait for its next advertising event
      this.establish(initiator, target);
      return;
    }
  }

  private establish(central: Node, peripheral: Node): void {
    const req = central.pending;
    const adv = peripheral.adv;
    if (!req || !adv) return;
    central.pending = null;
    this.setAdv(peripheral, null); // a connectable advertiser stops advertising once connected
    const link: Link = { id: this.nextLink++, central, peripheral, params: req.params };
    this.linkTable.set(link.id, link);
    central.links.add(link.id);
    peripheral.links.add(link.id);
    this.send(central, {
      t: 'connected',
      link: link.id,
      role: 0,
      peer: adv.address,
      peerType: adv.addressType,
      params: req.params,
      rssi: rssiAt(peripheral.info, central.info),
    });
    this.send(peripheral, {
      t: 'connected',
      link: link.id,
      role: 1,
      peer: req.own,
      peerType: req.ownType,
      params: req.params,
      rssi: rssiAt(central.info, peripheral.info),
    });
  }

  /** After a position change: drop links now out of range, refresh RSSI, offer adverts, retry connects. */
  private reevaluate(): void {
    for (const link of [...this.linkTable.values()]) {
      const { central: c, peripheral: p } = link;
      if (!inRange(c.info, p.info) || !inRange(p.info, c.info)) {
        this.dropLink(link, new Map(), STATUS.CONNECTION_TIMEOUT);
        continue;
      }
      this.send(c, { t: 'rssi', link: link.id, rssi: rssiAt(p.info, c.info) });
      this.send(p, { t: 'rssi', link: link.id, rssi: rssiAt(c.info, p.info) });
    }
    for (const adv of this.nodes.values()) {
      if (!adv.adv) continue;
      for (const scanner of this.nodes.values()) if (scanner.scan) this.offerAdvert(adv, scanner, true);
    }
    for (const n of this.nodes.values()) if (n.pending) this.tryConnect(n);
  }

  /** Deliveries are asynchronous (a microtask) and in order per device, never re-entrant. */
  private send(node: Node, msg: DownMsg): void {
    if (node.gone) return;
    node.inbox.push(msg);
    if (node.draining) return;
    node.draining = true;
    queueMicrotask(() => {
      node.draining = false;
      const batch = node.inbox;
      node.inbox = [];
      for (const m of batch) if (!node.gone) node.device.deliver(m);
    });
  }
}

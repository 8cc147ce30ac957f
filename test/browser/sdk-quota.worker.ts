/**
 * A custom SDK worker entry (`startWorker` from `@hearth/sdk/host`) whose storage has a byte budget the test sets
 * over the BroadcastChannel `hearth-test-quota` (`{ budget: bytes }`, `null` for none): a write or append that
 * would grow the files by more than the budget left throws `HEARTH_QUOTA_EXCEEDED` and writes nothing, as a full
 * disk or an exhausted origin quota does.
 */
import { startWorker } from '@hearth/sdk/host';
import { IoError, IoErrorCode, type FileHandle, type FileSystem, type OpenOptions } from '@hearth/io';

let budget: number | null = null;
new BroadcastChannel('hearth-test-quota').onmessage = (ev: MessageEvent<{ budget: number | null }>) => {
  budget = ev.data.budget;
};

function spend(path: string, growth: number): void {
  if (growth <= 0 || budget === null) return;
  if (growth > budget) throw new IoError(IoErrorCode.QUOTA_EXCEEDED, `test quota: ${growth} bytes wanted, ${budget} left`, { path });
  budget -= growth;
}

class QuotaHandle implements FileHandle {
  constructor(private readonly h: FileHandle) {}
  get path(): string {
    return this.h.path;
  }
  read(offset: number, length: number): Uint8Array {
    return this.h.read(offset, length);
  }
  write(offset: number, data: Uint8Array): void {
    spend(this.path, offset + data.length - this.h.size());
    this.h.write(offset, data);
  }
  append(data: Uint8Array): number {
    spend(this.path, data.length);
    return this.h.append(data);
  }
  size(): number {
    return this.h.size();
  }
  truncate(size: number): void {
    spend(this.path, size - this.h.size());
    this.h.truncate(size);
  }
  sync(): Promise<void> {
    return this.h.sync();
  }
  close(): Promise<void> {
    return this.h.close();
  }
}

class QuotaFs implements FileSystem {
  readonly name: string;
  readonly supports: FileSystem['supports'];
  constructor(private readonly fs: FileSystem) {
    this.name = `quota(${fs.name})`;
    this.supports = fs.supports;
  }
  async open(path: string, options?: OpenOptions): Promise<FileHandle> {
    return new QuotaHandle(await this.fs.open(path, options));
  }
  exists(path: string): Promise<boolean> {
    return this.fs.exists(path);
  }
  list(dir: string): Promise<string[]> {
    return this.fs.list(dir);
  }
  mkdir(dir: string): Promise<void> {
    return this.fs.mkdir(dir);
  }
  rename(from: string, to: string): Promise<void> {
    return this.fs.rename(from, to);
  }
  remove(path: string, options?: { recursive?: boolean }): Promise<void> {
    return this.fs.remove(path, options);
  }
}

startWorker({ wrapFileSystem: (fs) => new QuotaFs(fs) });

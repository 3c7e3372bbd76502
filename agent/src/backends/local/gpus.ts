/**
 * GPUs of this machine for the local backend: read once from `nvidia-smi` (absent → none) and handed
 * out whole to containers through CUDA_VISIBLE_DEVICES, returned when the container exits.
 */
import { execFileSync } from "node:child_process";

export class GpuAllocator {
  private readonly free: string[];

  constructor(readonly all: readonly string[]) {
    this.free = [...all];
  }

  static detect(): GpuAllocator {
    try {
      const out = execFileSync("nvidia-smi", ["--query-gpu=index", "--format=csv,noheader"], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] });
      return new GpuAllocator(
        out
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => /^\d+$/.test(l)),
      );
    } catch {
      return new GpuAllocator([]);
    }
  }

  /** Takes `count` GPUs, or returns undefined when fewer are free. */
  take(count: number): string[] | undefined {
    if (count === 0) return [];
    if (this.free.length < count) return undefined;
    return this.free.splice(0, count);
  }

  release(gpus: readonly string[]): void {
    this.free.push(...gpus);
    this.free.sort((a, b) => Number(a) - Number(b));
  }
}

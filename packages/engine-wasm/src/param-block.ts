/** Writing a quantization parameter block in the layout the kernels read (src/gen/layout.ts). */
import {
  QP_INV_SCALE,
  QP_OUT_INV_SCALE,
  QP_OUT_MODE,
  QP_OUT_ZERO_POINT,
  QP_SCALE,
  QP_ZERO_POINT,
} from "./gen/layout.js";

/**
 * Writes the block at `addr`: the tensor's scale and zero point (and 1/scale in float32), and
 * for a GEMM with int8 output that output's 1/scale and zero point (else output mode 0: f32).
 */
export function writeParamBlock(
  dv: DataView,
  addr: number,
  scale: number,
  zeroPoint: number,
  out?: { scale: number; zeroPoint: number },
): void {
  const s = Math.fround(scale);
  dv.setFloat32(addr + QP_SCALE, s, true);
  dv.setInt32(addr + QP_ZERO_POINT, zeroPoint, true);
  dv.setFloat32(addr + QP_INV_SCALE, Math.fround(1 / s), true);
  dv.setInt32(addr + QP_OUT_MODE, out ? 1 : 0, true);
  dv.setFloat32(addr + QP_OUT_INV_SCALE, out ? Math.fround(1 / Math.fround(out.scale)) : 0, true);
  dv.setInt32(addr + QP_OUT_ZERO_POINT, out ? out.zeroPoint : 0, true);
}

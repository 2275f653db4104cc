"""Training-time augmentation matched to handwriting, on whole batches in TensorFlow.

Small random affine maps (slant, rotation, size, aspect, shift) and a random change of
stroke width: the ways one person's characters differ from another's, and the ways the
preprocessing pipeline's output can differ from EMNIST. Applied in the input pipeline only,
so exported networks carry no augmentation ops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class AugmentSettings:
    rotation_deg: float = 10.0
    shear: float = 0.25
    scale: tuple[float, float] = (0.88, 1.06)
    aspect: float = 0.08
    shift_px: float = 1.5
    stroke: float = 0.6  # up to this share of a 3×3 dilation (or erosion) is blended in

    def scaled(self, strength: float) -> AugmentSettings:
        """These settings with every random range multiplied by `strength` (0: no change at all)."""
        low, high = self.scale
        return AugmentSettings(
            rotation_deg=self.rotation_deg * strength,
            shear=self.shear * strength,
            scale=(1.0 - (1.0 - low) * strength, 1.0 + (high - 1.0) * strength),
            aspect=self.aspect * strength,
            shift_px=self.shift_px * strength,
            stroke=min(1.0, self.stroke * strength),
        )


def augment_batch(images, settings: AugmentSettings = AugmentSettings(), seed=None):
    """images: float32 (B, 28, 28, 1) in [0, 1] → augmented images of the same shape."""
    import tensorflow as tf

    batch = tf.shape(images)[0]

    def uniform(low, high):
        return tf.random.uniform([batch], low, high, seed=seed)

    angle = uniform(-1.0, 1.0) * settings.rotation_deg * math.pi / 180.0
    shear = uniform(-settings.shear, settings.shear)
    scale = uniform(*settings.scale)
    aspect = 1.0 + uniform(-settings.aspect, settings.aspect)
    sx, sy = scale * aspect, scale / aspect
    tx, ty = uniform(-settings.shift_px, settings.shift_px), uniform(-settings.shift_px, settings.shift_px)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Forward map about the image centre: p' = R · Shear · S · (p − c) + c + t; the op wants
    # the inverse (output → input), computed in closed form for the 2×2 part.
    a = cos * sx
    b = (cos * shear - sin) * sy
    c = sin * sx
    d = (sin * shear + cos) * sy
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    centre = 13.5
    ox, oy = centre + tx, centre + ty
    e = centre - (ia * ox + ib * oy)
    f = centre - (ic * ox + id_ * oy)
    zeros = tf.zeros([batch])
    transforms = tf.stack([ia, ib, e, ic, id_, f, zeros, zeros], axis=1)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.constant([28, 28]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    if settings.stroke > 0:
        dilated = tf.nn.max_pool2d(warped, 3, 1, "SAME")
        eroded = -tf.nn.max_pool2d(-warped, 3, 1, "SAME")
        amount = tf.reshape(uniform(-settings.stroke, settings.stroke), [-1, 1, 1, 1])
        target = tf.where(amount > 0, dilated, eroded)
        warped = warped + tf.abs(amount) * (target - warped)
    # Peak back to 1, as EMNIST and the preprocessing pipeline both scale every image.
    peak = tf.reduce_max(warped, axis=[1, 2, 3], keepdims=True)
    return tf.clip_by_value(warped / tf.maximum(peak, 1e-3), 0.0, 1.0)

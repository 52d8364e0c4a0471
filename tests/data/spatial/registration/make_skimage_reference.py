"""Reference transforms from scikit-image for tests/test_spatial_data.py.

Run (scikit-image is not a dependency of radiogenomics; any environment that has it works):

    python make_skimage_reference.py   (any Python with scikit-image 0.26.0)

Writes landmarks.csv (noisy landmark pairs, seeded) and skimage_matrices.csv (the 3x3
homogeneous matrices of SimilarityTransform / EuclideanTransform / AffineTransform fitted by
least squares to them, written with 17 significant digits).
"""
import numpy as np
import pandas as pd
import skimage
from skimage.transform import AffineTransform, EuclideanTransform, SimilarityTransform

rng = np.random.default_rng(20)
n = 12
moving = rng.uniform(0, 2000, (n, 2))
theta, scale = 0.4, 1.7
R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
A = np.array([[1.1, 0.25], [-0.1, 0.8]]) @ (scale * R)  # slightly non-similar truth
fixed = moving @ A.T + np.array([350.0, -120.0]) + rng.normal(0, 6.0, (n, 2))
mirrored = fixed * np.array([1.0, -1.0])  # a flipped section

pd.DataFrame({"moving_x": moving[:, 0], "moving_y": moving[:, 1], "fixed_x": fixed[:, 0],
              "fixed_y": fixed[:, 1], "mirrored_x": mirrored[:, 0],
              "mirrored_y": mirrored[:, 1]}).to_csv("landmarks.csv", index=False,
                                                     float_format="%.17g")
rows = []
for name, cls in (("similarity", SimilarityTransform), ("rigid", EuclideanTransform),
                  ("affine", AffineTransform)):
    for target, dst in (("fixed", fixed), ("mirrored", mirrored)):
        t = cls()
        assert t.estimate(moving, dst)
        for i in range(3):
            for j in range(3):
                rows.append({"transform": name, "target": target, "i": i, "j": j,
                             "value": t.params[i, j]})
pd.DataFrame(rows).to_csv("skimage_matrices.csv", index=False, float_format="%.17g")
print("scikit-image", skimage.__version__)

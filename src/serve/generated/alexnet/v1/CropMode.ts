// Original file: proto/alexnet/v1/alexnet.proto

export const CropMode = {
  CROP_MODE_UNSPECIFIED: 'CROP_MODE_UNSPECIFIED',
  TEN_CROP: 'TEN_CROP',
  CENTER: 'CENTER',
} as const;

export type CropMode =
  | 'CROP_MODE_UNSPECIFIED'
  | 0
  | 'TEN_CROP'
  | 1
  | 'CENTER'
  | 2

export type CropMode__Output = typeof CropMode[keyof typeof CropMode]

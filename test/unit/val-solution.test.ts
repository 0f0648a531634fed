/** ImageNet's validation solution files, read by `alexnet data sort-val`: Kaggle's CSV, plain '<file> <class>' lines, and the files it must refuse. */
import test from 'ava';
import { ConfigError } from '../../src/errors.js';
import { parseValSolution } from '../../src/train/val-solution.js';

test("Kaggle's LOC_val_solution.csv: the first word of PredictionString is the class, the id matches the file without .JPEG", (t) => {
  // As Kaggle ships it: a header, rows in no particular order, several boxes per image, CRLF.
  const text = 'ImageId,PredictionString\r\nILSVRC2012_val_00008726,n02119789 255 142 454 329 n02119789 44 21 322 295 \r\nILSVRC2012_val_00000001,n01751748 0 0 499 374 \r\n';
  t.deepEqual([...parseValSolution(text, 'LOC_val_solution.csv')], [
    ['ILSVRC2012_val_00008726', 'n02119789'],
    ['ILSVRC2012_val_00000001', 'n01751748'],
  ]);
});

test("'<file> <class folder>' lines, extensions or not", (t) => {
  t.deepEqual([...parseValSolution('\uFEFFILSVRC2012_val_00000001.JPEG n01751748\n\nILSVRC2012_val_00000002 n09193705\n', 'val.txt')], [
    ['ILSVRC2012_val_00000001', 'n01751748'],
    ['ILSVRC2012_val_00000002', 'n09193705'],
  ]);
});

test("refused, naming the line: the devkit's numbered classes, a class that is a path, an image given two classes, nothing listed", (t) => {
  const refused = (text: string, pattern: RegExp) => {
    const e = t.throws(() => parseValSolution(text, 'f'), { instanceOf: ConfigError });
    t.regex(e!.message, pattern);
  };
  // ILSVRC2012_validation_ground_truth.txt: one number a line, in meta.mat's order (1 is kit fox, not tench).
  refused('490\n361\n', /^f:1: .*by number.*LOC_val_solution\.csv/);
  refused('ILSVRC2012_val_00000001.JPEG 65\n', /^f:1: .*by number/);
  refused('a.jpg n1\nb.jpg ../../etc\n', /^f:2: '\.\.\/\.\.\/etc' cannot be a class folder name/);
  refused('ImageId,PredictionString\nx,n1 1 2 3 4\nx,n2 1 2 3 4\n', /^f:3: x is listed twice, as n1 and n2/);
  refused('ImageId,PredictionString\n', /lists no image/);
});

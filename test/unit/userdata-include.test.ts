// #include / #include-once: the include list, read as cloud-init reads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIncludeList } from '../../src/userdata/include.ts';

test('include lists are read as cloud-init reads them', () => {
  assert.deepEqual(parseIncludeList('#include\n# comment\nhttp://a/1\n\n  http://a/2  \n#include-once http://a/3\nhttp://a/4\n#include\nhttp://a/5\r\nhttp://a/6'), [
    { url: 'http://a/1', once: false },
    { url: 'http://a/2', once: false },
    { url: 'http://a/3', once: true },
    { url: 'http://a/4', once: true },
    { url: 'http://a/5', once: false },
    { url: 'http://a/6', once: false },
  ]);
});

// The layered config editor's form: a stored scope becomes rows (set or
// inherited), and rows become the PUT body with typed values, or errors.
import { describe, expect, it } from 'vitest';
import { fromForm, toForm } from '../src/lib/config-form.js';

describe('config form', () => {
  it('marks stored fields as set and the rest as inherited', () => {
    const f = toForm({ heartbeat_interval: '45s', process_perf_enabled: false, max_local_concurrent: 2 });
    expect(f.heartbeat_interval).toEqual({ set: true, value: '45s' });
    expect(f.process_perf_enabled).toEqual({ set: true, value: 'false' });
    expect(f.max_local_concurrent).toEqual({ set: true, value: '2' });
    expect(f.target_version).toEqual({ set: false, value: '' });
  });

  it('writes only set fields, typed', () => {
    const f = toForm({});
    f.max_local_concurrent = { set: true, value: ' 4 ' };
    f.process_perf_enabled = { set: true, value: 'true' };
    f.host_perf_interval = { set: true, value: ' 90s ' };
    f.client_display_name = { set: true, value: ' Lab PC ' };
    f.target_version = { set: false, value: '1.2.3' };
    expect(fromForm(f)).toEqual({
      scope: {
        max_local_concurrent: 4,
        process_perf_enabled: true,
        host_perf_interval: '90s',
        client_display_name: ' Lab PC ',
      },
      errors: {},
    });
  });

  it('names fields that cannot be sent', () => {
    const f = toForm({});
    f.max_local_concurrent = { set: true, value: '0' };
    f.process_perf_top_n = { set: true, value: '2.5' };
    f.heartbeat_interval = { set: true, value: ' ' };
    const r = fromForm(f);
    expect(r.errors).toEqual({
      max_local_concurrent: 'integer',
      process_perf_top_n: 'integer',
      heartbeat_interval: 'required',
    });
    expect(r.scope).toEqual({});
  });
});

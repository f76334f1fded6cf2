// @vitest-environment happy-dom
import { h, render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { app } from '../src/state/app';
import { useApp } from '../src/ui/hooks';

function Phase() {
  return h('p', null, useApp((s) => s.phase));
}

describe('useApp', () => {
  const initial = app.get();
  afterEach(() => app.set(initial));

  it('shows a change made between the first render and its subscription', () => {
    // As at start-up: boot() is called right after render(), and on a fast network its answer
    // can land before the component's effect has subscribed. The splash stayed up for good.
    const root = document.createElement('div');
    act(() => {
      render(h(Phase, null), root);
      expect(root.textContent).toBe('boot');
      app.set({ phase: 'login' });
    });
    expect(root.textContent).toBe('login');
    act(() => app.set({ phase: 'ready' }));
    expect(root.textContent).toBe('ready');
    render(null, root);
  });
});

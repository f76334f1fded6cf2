// Preact bindings for the app store.

import { useEffect, useReducer, useRef, useState } from 'preact/hooks';
import { app, type AppState } from '../state/app';
import { calls as liveCalls, type LiveCallState } from '../state/call';
import { callsStore, type CallsState } from '../state/calls';

/**
 * The selected part of the app state. The component re-renders when the selection changes
 * (by identity), and always reads it with its latest selector.
 */
export function useApp<T>(select: (s: AppState) => T): T {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const selectRef = useRef(select);
  selectRef.current = select;
  const value = select(app.get());
  const lastRef = useRef(value);
  lastRef.current = value;
  useEffect(() => {
    const check = () => {
      if (!Object.is(selectRef.current(app.get()), lastRef.current)) rerender(0);
    };
    const unsubscribe = app.subscribe(check);
    // The effect runs after the first render: a change in between (boot's answer, a stream
    // event) told no one, and would show only with the next one.
    check();
    return unsubscribe;
  }, []);
  return value;
}

/** The current time, ticking every `ms` (for "until 3:30 PM" and "5 minutes ago"). */
export function useNow(ms = 30_000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** The selected part of the calls store (as useApp does for the app store). */
export function useCalls<T>(select: (s: CallsState) => T): T {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const selectRef = useRef(select);
  selectRef.current = select;
  const value = select(callsStore.get());
  const lastRef = useRef(value);
  lastRef.current = value;
  useEffect(() => {
    const check = () => {
      if (!Object.is(selectRef.current(callsStore.get()), lastRef.current)) rerender(0);
    };
    const unsubscribe = callsStore.subscribe(check);
    check();
    return unsubscribe;
  }, []);
  return value;
}

/** The selected part of this device's live call (state/call.ts). */
export function useLiveCall<T>(select: (s: LiveCallState) => T): T {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const selectRef = useRef(select);
  selectRef.current = select;
  const value = select(liveCalls.get());
  const lastRef = useRef(value);
  lastRef.current = value;
  useEffect(() => {
    const check = () => {
      if (!Object.is(selectRef.current(liveCalls.get()), lastRef.current)) rerender(0);
    };
    const unsubscribe = liveCalls.store.subscribe(check);
    check();
    return unsubscribe;
  }, []);
  return value;
}

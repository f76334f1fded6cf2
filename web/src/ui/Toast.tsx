import { useEffect } from 'preact/hooks';
import { app } from '../state/app';
import { useApp } from './hooks';

/** Short confirmations ("Copied extension 101"), read out politely by screen readers. */
export function Toast() {
  const toast = useApp((s) => s.toast);
  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(() => {
      if (app.get().toast?.id === toast.id) app.set({ toast: null });
    }, 3500);
    return () => clearTimeout(t);
  }, [toast]);
  return (
    <div class="toast-slot" role="status" aria-live="polite">
      {toast && (
        <div class="toast" key={toast.id} data-testid="toast">
          {toast.text}
        </div>
      )}
    </div>
  );
}

import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, NetworkError } from '../api';
import { waitText } from '../format';
import { app, signIn } from '../state/app';
import { useApp } from './hooks';
import { Logo } from './Logo';

type Problem =
  | { kind: 'wrong' }
  | { kind: 'limited'; until: number }
  | { kind: 'unreachable' }
  | { kind: 'missing' }
  | { kind: 'other'; text: string };

function problemText(p: Problem, now: number): string {
  switch (p.kind) {
    case 'wrong':
      return 'Wrong email or password. Check both and try again.';
    case 'limited': {
      const wait = waitText(Math.max(0, Math.ceil((p.until - now) / 1000)));
      return wait ? `Too many sign-in attempts. Try again in ${wait}.` : 'Too many sign-in attempts. You can try again now.';
    }
    case 'unreachable':
      return 'Can’t reach the server. Check your connection and try again.';
    case 'missing':
      return 'Enter your email and password.';
    case 'other':
      return p.text;
  }
}

export function Login() {
  const notice = useApp((s) => s.notice);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const emailRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    emailRef.current?.focus();
  }, []);

  const limitedUntil = problem?.kind === 'limited' ? problem.until : 0;
  useEffect(() => {
    if (!limitedUntil) return;
    const t = setInterval(() => {
      setNow(Date.now());
      if (Date.now() >= limitedUntil) clearInterval(t);
    }, 1000);
    return () => clearInterval(t);
  }, [limitedUntil]);

  const locked = limitedUntil > now;

  async function submit(e: Event) {
    e.preventDefault();
    if (busy || locked) return;
    if (email.trim() === '' || password === '') {
      setProblem({ kind: 'missing' });
      return;
    }
    setBusy(true);
    setProblem(null);
    app.set({ notice: null });
    try {
      await signIn(email.trim(), password);
    } catch (err) {
      setPassword('');
      if (err instanceof ApiError && err.status === 401) setProblem({ kind: 'wrong' });
      else if (err instanceof ApiError && err.status === 429) {
        setNow(Date.now());
        setProblem({ kind: 'limited', until: Date.now() + (err.retryAfter ?? 60) * 1000 });
      } else if (err instanceof NetworkError) setProblem({ kind: 'unreachable' });
      else if (err instanceof ApiError && err.status < 500) setProblem({ kind: 'other', text: err.message });
      else setProblem({ kind: 'other', text: 'The server had a problem signing you in. Try again in a moment.' });
    } finally {
      setBusy(false);
    }
  }

  const invalid = problem?.kind === 'wrong' || problem?.kind === 'missing';
  return (
    <main class="login" id="main">
      <div class="login-card">
        <div class="login-brand">
          <Logo />
          <h1>Virtual Office</h1>
        </div>
        <p class="muted">Sign in to reach your colleagues.</p>
        {notice && (
          <p class="notice" role="status" data-testid="login-notice">
            {notice}
          </p>
        )}
        <form onSubmit={submit} noValidate aria-describedby={problem ? 'login-error' : undefined}>
          <label for="login-email">Work email</label>
          <input
            id="login-email"
            ref={emailRef}
            type="email"
            name="email"
            autocomplete="username"
            inputMode="email"
            autocapitalize="none"
            spellcheck={false}
            required
            value={email}
            aria-invalid={invalid || undefined}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
          <label for="login-password">Password</label>
          <input
            id="login-password"
            type="password"
            name="password"
            autocomplete="current-password"
            required
            value={password}
            aria-invalid={invalid || undefined}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          <div class="login-error" id="login-error" role="alert" data-testid="login-error">
            {problem ? problemText(problem, now) : ''}
          </div>
          <button type="submit" class="btn btn-primary btn-block" disabled={busy || locked} aria-busy={busy || undefined}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}

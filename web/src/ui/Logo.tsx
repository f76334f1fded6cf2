/** The app's mark: a speech bubble over a building, drawn in the accent colour. */
export function Logo({ size = 40 }: { size?: number }) {
  return (
    <svg class="logo" width={size} height={size} viewBox="0 0 64 64" aria-hidden="true" focusable="false">
      <rect width="64" height="64" rx="14" fill="currentColor" />
      <path
        d="M16 18h32a4 4 0 0 1 4 4v16a4 4 0 0 1-4 4H30l-9 8v-8h-5a4 4 0 0 1-4-4V22a4 4 0 0 1 4-4z"
        fill="var(--logo-ink, #fff)"
      />
      <circle cx="24" cy="30" r="3" fill="currentColor" />
      <circle cx="32" cy="30" r="3" fill="currentColor" />
      <circle cx="40" cy="30" r="3" fill="currentColor" />
    </svg>
  );
}

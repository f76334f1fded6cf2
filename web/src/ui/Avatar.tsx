import { useEffect, useState } from 'preact/hooks';
import { avatarColour, initials, photoSrc } from '../format';
import type { Shown } from '../types';

export type AvatarSize = 'sm' | 'md' | 'xl';

interface Props {
  id: string;
  name: string;
  photoUrl: string | null;
  size: AvatarSize;
  /** Shows a presence dot; its meaning is always also given as text next to it. */
  shown?: Shown;
  stale?: boolean;
  /** Alternative text; empty (the default) when the name is written next to the avatar. */
  alt?: string;
}

const SOURCES: Record<AvatarSize, [64 | 256 | 512, 64 | 256 | 512]> = {
  sm: [64, 256],
  md: [64, 256],
  xl: [256, 512],
};

/** A user's photo, or their initials on a colour when there is none. */
export function Avatar({ id, name, photoUrl, size, shown, stale, alt = '' }: Props) {
  const [broken, setBroken] = useState(false);
  useEffect(() => setBroken(false), [photoUrl]);
  const [one, two] = SOURCES[size];
  const photo = photoUrl && !broken;
  return (
    <span class={`avatar avatar-${size}`} data-user={id} role={alt ? 'img' : undefined} aria-label={alt || undefined}>
      {photo ? (
        <img
          src={photoSrc(photoUrl, one)}
          srcset={`${photoSrc(photoUrl, one)} 1x, ${photoSrc(photoUrl, two)} 2x`}
          alt=""
          decoding="async"
          onError={() => setBroken(true)}
        />
      ) : (
        // Drawn by CSS from the attribute: decoration, not text a screen reader should read.
        <span class="initials" style={{ background: avatarColour(id) }} data-initials={initials(name)} aria-hidden="true" />
      )}
      {shown && <span class={`dot dot-${shown}${stale ? ' dot-stale' : ''}`} aria-hidden="true" />}
    </span>
  );
}

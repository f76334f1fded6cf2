import { showToast } from '../state/app';

/** Copies `text` to the clipboard and says so; `what` names it ("extension 101"). */
export async function copyText(text: string, what: string): Promise<void> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
    } else {
      const area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.append(area);
      area.select();
      const ok = document.execCommand('copy');
      area.remove();
      if (!ok) throw new Error('copy refused');
    }
    showToast(`Copied ${what}`);
  } catch {
    showToast(`Couldn’t copy ${what}: select and copy it instead`);
  }
}

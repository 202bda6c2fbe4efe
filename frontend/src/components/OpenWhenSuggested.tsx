import { useContext, useEffect, useRef } from 'react';
import { ComboBoxStateContext } from 'react-aria-components';

/**
 * Inside a ComboBox: opens its suggestions once they arrive for what is being typed (they load
 * after the keystroke, so the ComboBox's own open-on-input finds none yet). Only while the input
 * with this `data-testid` has the focus.
 */
export function OpenWhenSuggested({ count, text, inputTestId }: { count: number; text: string; inputTestId: string }) {
  const state = useContext(ComboBoxStateContext);
  const stateRef = useRef(state);
  useEffect(() => {
    stateRef.current = state;
  });
  useEffect(() => {
    const st = stateRef.current;
    if (!st || count === 0 || st.isOpen) return;
    const active = document.activeElement;
    if (active instanceof HTMLInputElement && active.dataset.testid === inputTestId) st.open(null, 'input');
  }, [count, text, inputTestId]);
  return null;
}

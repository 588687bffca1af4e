"""medcam-console: the operations console for order fulfillment across Medusa and Zeebe."""
